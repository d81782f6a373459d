"""The Lambda bundle: `chalice package` output carries the form definitions and a valid template."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run([sys.executable, "-m", "formloop_cli", "package", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


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
