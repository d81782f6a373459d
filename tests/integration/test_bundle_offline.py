"""The built bundle, alone: unpacked into an empty folder and run as Lambda runs it, with nothing but Python
3.13's standard library and the boto3/botocore the runtime provides.

Each step runs in a fresh process started with `-I -S -B` (no site-packages, no PYTHON* variables, not even the
project's own folder), given only the unpacked bundle (as /var/task) and a folder linking boto3, botocore and
their dependencies from this virtualenv. The folder is read-only, as /var/task is, so Python can only use the
bytecode the bundle ships. DynamoDB Local stands in for DynamoDB; email goes to an outbox folder.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the python3.13 Lambda runtime provides besides the standard library.
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")

CHILD = """\
import json, sys
task, runtime = sys.argv[1], sys.argv[2]
sys.path[:0] = [task, runtime]
import gc
import app
collecting_at_start = gc.isenabled()
handler = getattr(app, sys.argv[3])
answer = handler(json.loads(sys.stdin.read()), None)
collector = {"at_start": collecting_at_start, "after": gc.isenabled(), "frozen": gc.get_freeze_count()}
outside = sorted({m.__name__.split(".")[0] for m in list(sys.modules.values())
                  if getattr(m, "__file__", None) and not m.__file__.startswith((task, runtime, sys.base_prefix))})
# Every module loaded from the bundle came with its bytecode (nothing was compiled here: the folder is read-only).
uncompiled = sorted(m.__name__ for m in list(sys.modules.values()) if getattr(m, "__file__", "").startswith(task)
                    and m.__file__.endswith(".py") and not (m.__spec__ and m.__spec__.cached
                    and __import__("os").path.exists(m.__spec__.cached)))
print(json.dumps({"answer": answer, "outside": outside, "uncompiled": uncompiled, "collector": collector},
                 default=str))
"""


@pytest.fixture(scope="module")
def bundle(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the unpacked bundle, read-only; a folder with only the runtime's boto3, botocore and dependencies)."""
    size = (package / "deployment.zip").stat().st_size
    print(f"\nbundle size: {size / 1e6:.2f} MB ({size} bytes)")
    task = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(task)
    runtime = tmp_path_factory.mktemp("runtime")
    site = Path(__import__("botocore").__file__).resolve().parents[1]
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    paths = [task, *task.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield task, runtime
    for path in paths:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def deployment(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A production-like environment over fresh tables in DynamoDB Local (created with the project's models)."""
    from chalicelib.core.config import MIN_SECRET_CHARS, SECRETS, Settings
    from chalicelib.wiring import build_services
    env = {"FORMLOOP_STAGE": "prod", "FORMLOOP_TABLE_PREFIX": f"bundle-{uuid.uuid4().hex[:8]}",
           "FORMLOOP_DYNAMODB_ENDPOINT": dynamodb_endpoint, "FORMLOOP_MAIL_BACKEND": "outbox",
           "FORMLOOP_OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
           "FORMLOOP_MAIL_FROM": "Formloop <forms@example.com>", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_LAMBDA_FUNCTION_NAME": "formloop-offline",  # as Lambda sets it
           **{s.variable: f"{s.variable}-" + uuid.uuid4().hex * 2 for s in SECRETS.values()}}
    assert all(len(env[s.variable]) >= MIN_SECRET_CHARS for s in SECRETS.values())
    build_services(Settings.from_environ({**env, "FORMLOOP_FORMS_DIR": str(ROOT / "forms")})).create_tables()
    return env


def _run(bundle: tuple[Path, Path], env: dict[str, str], handler: str, event: dict[str, Any]) -> Any:
    task, runtime = bundle
    # -B: the folder is read-only, but that stops no root user; Lambda's /var/task keeps no bytecode written there.
    child = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", CHILD, str(task), str(runtime), handler],
                           input=json.dumps(event), cwd=task, capture_output=True, text=True, timeout=120,
                           env={"PATH": os.environ.get("PATH", ""), "HOME": str(task), **env})
    assert child.returncode == 0, child.stderr[-3000:]
    found = json.loads(child.stdout.splitlines()[-1])
    assert found["outside"] == [], found["outside"]  # nothing imported from beyond the bundle and the runtime
    assert found["uncompiled"] == [], found["uncompiled"]
    # The cold start ran without the cyclic collector; once the first event was answered, what it loaded was
    # frozen and the collector is back, whatever the event (a post, a stream batch, an SNS message).
    assert found["collector"]["at_start"] is False and found["collector"]["after"] is True, found["collector"]
    assert found["collector"]["frozen"] > 50_000, found["collector"]
    return found["answer"]


def _post_event(body: dict[str, Any]) -> dict[str, Any]:
    headers = {"content-type": "application/json", "accept": "application/json", "host": "forms.example.com"}
    return {"resource": "/f/{form_id}", "path": "/f/contact", "httpMethod": "POST", "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": {"form_id": "contact"},
            "stageVariables": None, "isBase64Encoded": False, "body": json.dumps(body),
            "requestContext": {"resourcePath": "/f/{form_id}", "httpMethod": "POST", "path": "/api/f/contact",
                               "stage": "api", "identity": {"sourceIp": "203.0.113.7"}}}


def _stream_record(sequence: str, image: dict[str, Any]) -> dict[str, Any]:
    return {"eventID": sequence, "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/y",
            "dynamodb": {"ApproximateCreationDateTime": 1764720000, "Keys": {}, "NewImage": image,
                         "SequenceNumber": sequence, "SizeBytes": 100, "StreamViewType": "NEW_IMAGE"}}


def _sns_event(message: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:sub",
                         "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": "arn:topic",
                                 "Subject": None, "Message": json.dumps(message), "Timestamp": "2026-12-03T00:00:00Z",
                                 "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "",
                                 "UnsubscribeUrl": "", "MessageAttributes": {}}}]}


def test_the_bundle_alone_stores_a_post_delivers_it_and_records_its_bounce(
        bundle: tuple[Path, Path], deployment: dict[str, str]) -> None:
    import boto3
    client = boto3.client("dynamodb", endpoint_url=deployment["FORMLOOP_DYNAMODB_ENDPOINT"], region_name="us-east-1")
    table = deployment["FORMLOOP_TABLE_PREFIX"] + "-submissions"
    # 1. An API Gateway proxy event for a post: stored in DynamoDB (Local).
    answer = _run(bundle, deployment, "app", _post_event({
        "name": "Ann Lee", "email": "ann@example.com", "topic": "question", "message": "Where is it?",
        "consent": True}))
    assert answer["statusCode"] == 201, answer
    submission_id = json.loads(answer["body"])["id"]
    stored = client.get_item(TableName=table, Key={"form": {"S": "contact"}, "id": {"S": submission_id}},
                             ConsistentRead=True)["Item"]
    assert stored["status"] == {"S": "received"}
    # 2. A stream batch with that record and a poison one: only the poison one is reported.
    batch = {"Records": [_stream_record("100", stored), _stream_record("200", {"form": {"S": "contact"}})]}
    assert _run(bundle, deployment, "on_submission_stored", batch) == {
        "batchItemFailures": [{"itemIdentifier": "200"}]}
    deliveries = deployment["FORMLOOP_TABLE_PREFIX"] + "-deliveries"
    key = {"submission": {"S": f"contact#{submission_id}"}, "kind": {"S": "acknowledgement"}}
    assert client.get_item(TableName=deliveries, Key=key, ConsistentRead=True)["Item"]["status"] == {"S": "sent"}
    # 3. SES says the acknowledgement bounced for good: the delivery is marked, the mailbox suppressed.
    bounce = {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                                                "bouncedRecipients": [{"emailAddress": "ann@example.com"}]},
              "mail": {"messageId": "ses-1", "commonHeaders": {
                  "messageId": f"<contact.{submission_id}.acknowledgement@example.com>"}}}
    assert _run(bundle, deployment, "on_mail_event", _sns_event(bounce)) is None
    assert client.get_item(TableName=deliveries, Key=key, ConsistentRead=True)["Item"]["status"] == {"S": "bounced"}
    from chalicelib.mail.bounces import suppression_key
    suppressions = deployment["FORMLOOP_TABLE_PREFIX"] + "-suppressions"
    assert "Item" in client.get_item(TableName=suppressions, Key={"key": {"S": suppression_key("ann@example.com")}},
                                     ConsistentRead=True)
