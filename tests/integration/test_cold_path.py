"""A cold start on packaged definitions: the first valid post is stored without loading jsonschema.

jsonschema (with referencing, attrs and the bundled meta-schemas) is most of what a cold start
costs beyond boto3, so a Lambda serving a valid post must not import it; a post with mistakes
still gets jsonschema's full list of errors. Nor does it import fastjsonschema: packaging compiled the
form's checks already. A post that no rate limit or survey admission conditions is one PutItem, sent without
importing PynamoDB.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.forms.definitions import CHECKED_MANIFEST, seal_folder

ROOT = Path(__file__).resolve().parents[2]

# What Lambda does on a cold start: import the handler module, call it with API Gateway's event.
CHILD = """
import json, sys
import app
event = json.loads(sys.argv[1])
response = app.app(event, None)
print(json.dumps({"status": response["statusCode"], "body": response["body"],
                  "jsonschema": "jsonschema" in sys.modules, "fastjsonschema": "fastjsonschema" in sys.modules,
                  "pynamodb": "pynamodb" in sys.modules}))
"""


def _event(answers: dict[str, Any], form: str = "customer-survey") -> dict[str, Any]:
    headers = {"content-type": "application/json", "accept": "application/json", "host": "forms.example.com"}
    return {
        "resource": "/f/{form_id}", "path": f"/f/{form}", "httpMethod": "POST", "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": {"form_id": form},
        "stageVariables": None, "requestContext": {"resourcePath": "/f/{form_id}", "httpMethod": "POST",
                                                   "path": f"/api/f/{form}", "stage": "api",
                                                   "identity": {"sourceIp": "203.0.113.9"}},
        "body": json.dumps(answers), "isBase64Encoded": False,
    }


def _cold_post(forms_dir: Path, settings: Any, answers: dict[str, Any],
               form: str = "customer-survey") -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update({"FORMLOOP_DYNAMODB_ENDPOINT": settings.dynamodb_endpoint,
                "FORMLOOP_TABLE_PREFIX": settings.table_prefix, "FORMLOOP_FORMS_DIR": str(forms_dir),
                "FORMLOOP_MAIL_BACKEND": "outbox"})
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(_event(answers, form))], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def sealed_forms(tmp_path: Path) -> Path:
    """A copy of forms/ sealed as `make package` seals the bundle."""
    folder = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", folder, ignore=shutil.ignore_patterns(CHECKED_MANIFEST))
    # The survey without its rate limit: a post to it has no condition.
    plain = json.loads((folder / "customer-survey.json").read_text())
    plain["$id"] = "plain-survey"
    del plain["x-form"]["spam"]["perIpPerHour"]
    (folder / "plain-survey.json").write_text(json.dumps(plain))
    assert seal_folder(folder) == []
    return folder


VALID = {"nps": 9, "features": ["delivery", "support"], "csat": 5, "email": "cold@example.com"}


def test_first_valid_post_on_packaged_forms_never_loads_jsonschema(services, sealed_forms):  # type: ignore[no-untyped-def]
    result = _cold_post(sealed_forms, services.settings, VALID)
    assert result["status"] == 201, result
    assert result["jsonschema"] is False
    assert result["fastjsonschema"] is False
    stored = list(services.submissions.store.list("customer-survey"))
    assert [s.id for s in stored] == [json.loads(result["body"])["id"]]
    assert stored[0].answers["email"] == "cold@example.com"


def test_a_plain_first_post_is_stored_without_pynamodb(services, sealed_forms):  # type: ignore[no-untyped-def]
    result = _cold_post(sealed_forms, services.settings, VALID, form="plain-survey")
    assert result["status"] == 201, result
    assert (result["pynamodb"], result["fastjsonschema"], result["jsonschema"]) == (False, False, False)
    stored = services.store.get("plain-survey", json.loads(result["body"])["id"])
    assert stored is not None and stored.answers == VALID and stored.respondent_email == "cold@example.com"
    assert stored.feedback_kind == "idea" and stored.status == "received"


def test_a_post_with_mistakes_still_gets_every_error(services, sealed_forms):  # type: ignore[no-untyped-def]
    result = _cold_post(sealed_forms, services.settings, {"nps": 3, "csat": 9, "email": "not an address"})
    assert result["status"] == 422
    fields = sorted(error["field"] for error in json.loads(result["body"])["errors"])
    assert fields == ["csat", "email", "reason"]
    assert list(services.submissions.store.list("customer-survey")) == []


def test_a_definition_changed_after_packaging_is_checked_again(services, sealed_forms):  # type: ignore[no-untyped-def]
    path = sealed_forms / "customer-survey.json"
    broken = json.loads(path.read_text())
    broken["properties"]["nps"]["maximum"] = "ten"
    path.write_text(json.dumps(broken))
    result = _cold_post(sealed_forms, services.settings, VALID)
    assert result["status"] == 503 and "temporarily unavailable" in result["body"]
    assert list(services.submissions.store.list("customer-survey")) == []
