"""The Lambda bundle: `chalice package` output carries the form definitions and a valid template.

The `package` fixture (tests/integration/conftest.py) builds it once per session.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_bundle_contains_every_form_definition(package: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as bundle:
        names = set(bundle.namelist())
    for definition in (ROOT / "forms").glob("*.json"):
        assert f"chalicelib/bundled/forms/{definition.name}" in names
    assert "app.py" in names and "chalicelib/forms/definitions.py" in names


def test_bundle_vouches_for_exactly_the_definitions_it_checked(package: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as bundle:
        manifest = bundle.read("chalicelib/bundled/forms/checked.sha256").decode()
        bundled = {name.rsplit("/", 1)[1]: bundle.read(name) for name in bundle.namelist()
                   if name.startswith("chalicelib/bundled/forms/") and name.endswith(".json")
                   and name.count("/") == 3}
    digests = dict(reversed(line.split("  ")) for line in manifest.splitlines())
    assert digests == {name: hashlib.sha256(raw).hexdigest() for name, raw in bundled.items()}
    assert set(digests) == {path.name for path in (ROOT / "forms").glob("*.json")}


def test_bundle_is_lean(package: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as bundle:
        tops = {name.split("/")[0] for name in bundle.namelist()}
    assert "botocore" not in tops and "boto3" not in tops  # provided by the Lambda runtime
    assert "click" not in tops  # chalice's CLI stays out of the bundle
    # The `formloop` command, the benches, the tests and the build tools are development tools only.
    development = {"formloop_cli", "bench", "tests", "scripts", "mrml", "babel", "selenium", "hypothesis", "pytest"}
    assert not tops & development, tops
    assert (package / "deployment.zip").stat().st_size < 3_000_000


def test_packaging_leaves_local_runs_reading_forms_folder(package: Path) -> None:
    from chalicelib.core.config import BUNDLED_FORMS_DIR, default_forms_dir
    assert not BUNDLED_FORMS_DIR.exists()
    assert default_forms_dir() == ROOT / "forms"


def test_bundled_app_serves_forms_from_the_bundle(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as bundle:
        bundle.extractall(tmp_path)
    probe = ("from chalicelib.core.config import default_forms_dir; "
             "from chalicelib.forms.definitions import FormRegistry; "
             "print(default_forms_dir().as_posix(), FormRegistry(default_forms_dir()).get('contact').id)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    folder, form_id = result.stdout.split()
    assert folder.endswith("chalicelib/bundled/forms") and form_id == "contact"


def test_template_has_tables_and_passes_cfn_lint(package: Path) -> None:
    template = json.loads((package / "sam.json").read_text())
    tables = {r["Properties"]["TableName"] for r in template["Resources"].values()
              if r["Type"] == "AWS::DynamoDB::Table"}
    assert {"formloop-prod-submissions", "formloop-prod-idempotency"} <= tables
    for resource in template["Resources"].values():  # DynamoDB refuses a key schema that is not HASH, RANGE
        properties = resource["Properties"]
        for keys in [properties.get("KeySchema", [])] + [i["KeySchema"] for i in
                                                          properties.get("GlobalSecondaryIndexes", [])]:
            assert [k["KeyType"] for k in keys] in ([], ["HASH"], ["HASH", "RANGE"]), resource
    # Emails whose provider kept failing get their next round every 5 minutes; gift expiries are recorded hourly.
    schedules = [event["Properties"]["Schedule"] for r in template["Resources"].values()
                 if r["Type"] == "AWS::Serverless::Function"
                 for event in r["Properties"].get("Events", {}).values() if event["Type"] == "Schedule"]
    assert sorted(schedules) == ["rate(1 hour)", "rate(5 minutes)"]
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(package / "sam.json")],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_infra_template_matches_the_models() -> None:
    result = subprocess.run([sys.executable, "-m", "formloop_cli", "infra", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def _template(package: Path) -> dict[str, Any]:
    return json.loads((package / "sam.json").read_text())


def test_every_function_runs_python_3_13(package: Path) -> None:
    functions = {name: r["Properties"] for name, r in _template(package)["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"APIHandler", "OnSubmissionStored", "RetryWaitingEmails", "ExpireGifts", "OnMailEvent"}
    assert {name: p["Runtime"] for name, p in functions.items()} == dict.fromkeys(functions, "python3.13")


def test_tables_keep_their_data(package: Path) -> None:
    tables = [r for r in _template(package)["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables
    for table in tables:
        properties = table["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_the_stream_consumer_retries_only_what_failed_then_queues_it(package: Path) -> None:
    resources = _template(package)["Resources"]
    [source] = resources["OnSubmissionStored"]["Properties"]["Events"].values()
    properties = source["Properties"]
    assert source["Type"] == "DynamoDB"
    assert properties["Stream"] == {"Fn::GetAtt": ["SubmissionsTable", "StreamArn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True and 0 < properties["MaximumRetryAttempts"] <= 10
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["StreamFailuresQueue", "Arn"]}
    alarm = resources["StreamFailuresAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_bounces_and_complaints_reach_the_mail_event_handler(package: Path) -> None:
    resources = _template(package)["Resources"]
    destination = resources["MailEventsDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert destination["EventDestination"]["SnsDestination"]["TopicARN"] == {"Ref": "MailEventsTopic"}
    [subscription] = resources["OnMailEvent"]["Properties"]["Events"].values()
    assert subscription == {"Type": "SNS", "Properties": {"Topic": {"Ref": "MailEventsTopic"}}}
    assert resources["OnMailEvent"]["Properties"]["Handler"] == "app.on_mail_event"


def test_logs_are_kept_for_a_while_and_alarms_watch_errors_and_throttles(package: Path) -> None:
    resources = _template(package)["Resources"]
    functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    for function in functions:
        name = resources[function]["Properties"]["FunctionName"]
        group = resources[function + "LogGroup"]["Properties"]
        assert group == {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": 90}
        throttles = resources[function + "ThrottlesAlarm"]["Properties"]
        assert throttles["MetricName"] == "Throttles" and throttles["Dimensions"][0]["Value"] == name
    errors = resources["ApiServerErrorsAlarm"]["Properties"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    [throttle] = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] > 0 and throttle["ThrottlingBurstLimit"] >= throttle["ThrottlingRateLimit"]


def test_the_bundle_ships_bytecode_used_without_a_source_check(package: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as bundle:
        names = set(bundle.namelist())
        header = bundle.read("chalicelib/__pycache__/wiring.cpython-313.pyc")[:8]
    for module in ("app", "chalicelib/wiring", "chalicelib/routes/edge", "pynamodb/models", "jsonschema/validators"):
        folder, _, stem = module.rpartition("/")
        assert f"{folder + '/' if folder else ''}__pycache__/{stem}.cpython-313.pyc" in names, module
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, never checked against the source
    assert not any(name.startswith("jsonschema/tests/") for name in names)


def test_api_gateway_passes_only_multipart_bodies_as_bytes(package: Path) -> None:
    # A multipart post may carry any bytes, so API Gateway must hand it over base64-encoded; nothing else Formloop
    # takes or serves is binary (a longer list costs every request in Chalice's content-type checks).
    [api] = [r for r in _template(package)["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert api["Properties"]["DefinitionBody"]["x-amazon-apigateway-binary-media-types"] == ["multipart/form-data"]
