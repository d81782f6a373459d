"""Secrets from SSM Parameter Store: read lazily, once per container, named when missing.

Tested at the botocore boundary: a real `ssm` client wrapped in botocore's Stubber, so each request is
checked against the SSM service model and any request not expected here fails the test.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.core import secrets
from chalicelib.core.config import MIN_SECRET_CHARS, SettingError, Settings
from chalicelib.core.errors import AdminAuthError
from chalicelib.core.keys import hash_key
from chalicelib.intake.service import SubmitRequest
from chalicelib.storage.parameters import SsmParameters
from chalicelib.wiring import build_memory_services

ROOT = Path(__file__).resolve().parents[2]
PATH = "/formloop/prod/"
REGION = "eu-west-1"
SALT = "s" * MIN_SECRET_CHARS


@pytest.fixture
def ssm() -> Iterator[Stubber]:
    """A cold container whose one SSM client is stubbed: no request leaves the process."""
    secrets.reset_for_tests()
    client = boto3.client("ssm", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    secrets.parameter_store(PATH, REGION).use_reader(SsmParameters(REGION, client))
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()
    secrets.reset_for_tests()


def _answer(stub: Stubber, variable: str, value: str) -> None:
    stub.add_response("get_parameter", {"Parameter": {"Name": PATH + variable, "Type": "SecureString",
                                                      "Value": value}},
                      {"Name": PATH + variable, "WithDecryption": True})


def _prod(**extra: str) -> Settings:
    return Settings.from_environ({"FORMLOOP_STAGE": "prod", "FORMLOOP_SECRETS_PATH": PATH, "AWS_REGION": REGION,
                                  "FORMLOOP_FORMS_DIR": str(ROOT / "forms"), **extra})


def test_a_secret_is_read_once_per_container(ssm: Stubber) -> None:
    _answer(ssm, "FORMLOOP_IP_HASH_SALT", SALT)  # one response only: a second request would fail the stub
    settings = _prod()
    assert settings.secret("ip_hash_salt") == SALT
    assert _prod().secret("ip_hash_salt") == SALT  # a new Settings in the same container: still cached


def test_a_missing_parameter_fails_with_its_name(ssm: Stubber) -> None:
    ssm.add_client_error("get_parameter", service_error_code="ParameterNotFound", http_status_code=400,
                         expected_params={"Name": PATH + "FORMLOOP_PAGE_SECRET", "WithDecryption": True})
    with pytest.raises(SettingError, match="/formloop/prod/FORMLOOP_PAGE_SECRET does not exist"):
        _prod().secret("page_secret")


def test_an_unreadable_parameter_fails_with_its_name(ssm: Stubber) -> None:
    ssm.add_client_error("get_parameter", service_error_code="AccessDeniedException", http_status_code=400)
    with pytest.raises(SettingError, match="/formloop/prod/FORMLOOP_GIFT_SECRET could not be read"):
        _prod().secret("gift_secret")


def test_a_short_parameter_is_refused_by_name(ssm: Stubber) -> None:
    _answer(ssm, "FORMLOOP_GIFT_SECRET", "short")
    with pytest.raises(SettingError, match="/formloop/prod/FORMLOOP_GIFT_SECRET must be at least"):
        _prod().secret("gift_secret")


def test_the_environment_wins_and_reads_nothing(ssm: Stubber) -> None:
    settings = _prod(FORMLOOP_PAGE_SECRET="p" * MIN_SECRET_CHARS)
    assert settings.secret("page_secret") == "p" * MIN_SECRET_CHARS  # no response queued: no request made


def test_a_post_reads_only_the_salt_it_needs_and_only_once(ssm: Stubber, tmp_path: Path) -> None:
    # No time trap: this form's posts need only the salt of the stored IP hash (no page, gift or admin secret).
    (tmp_path / "plain.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "plain", "title": "Plain",
        "type": "object", "additionalProperties": False, "x-form": {"kind": "contact"},
        "properties": {"message": {"type": "string", "maxLength": 100, "x-ui": {"widget": "textarea"}}}}),
        encoding="utf-8")
    services = build_memory_services(_prod(FORMLOOP_FORMS_DIR=str(tmp_path)))
    _answer(ssm, "FORMLOOP_IP_HASH_SALT", SALT)  # the one response: any other request fails the stub
    for _ in range(3):
        outcome = services.submissions.submit(SubmitRequest(
            form_id="plain", headers={"content-type": "application/json"}, source_ip="203.0.113.7",
            body=b'{"message": "hi"}'))
        assert outcome.status == "received"


def test_admin_key_hashes_come_from_their_parameter_on_the_first_admin_request(ssm: Stubber) -> None:
    services = build_memory_services(_prod())
    admin = services.admin  # built at a cold start without reading anything
    _answer(ssm, "FORMLOOP_ADMIN_KEY_HASHES", f" {hash_key('k' * 40)} ,{hash_key('other' * 8)}")
    admin.check({"authorization": "Bearer " + "k" * 40})
    with pytest.raises(AdminAuthError):
        admin.check({"authorization": "Bearer wrong"})


def test_local_runs_keep_environment_variables() -> None:
    secrets.reset_for_tests()
    settings = Settings.from_environ({"FORMLOOP_IP_HASH_SALT": SALT})
    assert settings.secrets_path is None and settings.secret("ip_hash_salt") == SALT


def test_a_captcha_secret_is_the_forms_own_parameter_else_the_providers(ssm: Stubber) -> None:
    own = "FORMLOOP_CAPTCHA_SECRET_CONTACT"
    ssm.add_client_error("get_parameter", service_error_code="ParameterNotFound", http_status_code=400,
                         expected_params={"Name": PATH + own, "WithDecryption": True})
    _answer(ssm, "FORMLOOP_TURNSTILE_SECRET", "0x-provider-secret")
    captcha = _prod().captcha
    assert captcha.secret("turnstile", "contact") == "0x-provider-secret"
    assert captcha.secret("turnstile", "contact") == "0x-provider-secret"  # both answers remembered: no request


def test_a_missing_captcha_parameter_fails_with_its_name(ssm: Stubber) -> None:
    for name in ("FORMLOOP_CAPTCHA_SECRET_CONTACT", "FORMLOOP_HCAPTCHA_SECRET"):
        ssm.add_client_error("get_parameter", service_error_code="ParameterNotFound", http_status_code=400,
                             expected_params={"Name": PATH + name, "WithDecryption": True})
    with pytest.raises(SettingError, match="/formloop/prod/FORMLOOP_HCAPTCHA_SECRET does not exist"):
        _prod().captcha.secret("hcaptcha", "contact")
