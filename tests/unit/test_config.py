"""Settings: each default written once, each secret its own and refused by name outside the local stage."""
from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.core.config import (
    MIN_SECRET_CHARS,
    SECRETS,
    MailSettings,
    SecretPurpose,
    SettingError,
    Settings,
    default_forms_dir,
)
from chalicelib.core.keys import hash_key
from chalicelib.intake.service import SubmitRequest
from chalicelib.intake.spam import posted_too_fast
from chalicelib.wiring import build_memory_services

ROOT = Path(__file__).resolve().parents[2]
PURPOSES: list[SecretPurpose] = list(SECRETS)
STRONG = {purpose: f"{purpose}-" + "x" * MIN_SECRET_CHARS for purpose in PURPOSES}
PROD_SECRETS = {SECRETS[purpose].variable: value for purpose, value in STRONG.items()}


def test_an_empty_environment_gives_the_field_defaults() -> None:
    settings = Settings.from_environ({})
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name in ("stage", "table_prefix", "region", "dynamodb_endpoint", "max_body_bytes", "max_fields",
                 "max_depth", "max_field_chars", "storage_retries", "storage_timeout_seconds", "admin_key_hashes"):
        assert getattr(settings, name) == fields[name].default, name
    assert (settings.stage, settings.table_prefix, settings.max_body_bytes) == ("local", "formloop", 64 * 1024)
    assert settings.forms_dir == default_forms_dir()
    assert settings.mail == MailSettings()


def test_variables_override_the_defaults() -> None:
    settings = Settings.from_environ({
        "FORMLOOP_STAGE": "prod", "FORMLOOP_TABLE_PREFIX": "acme", "AWS_REGION": "eu-west-1",
        "FORMLOOP_DYNAMODB_ENDPOINT": "http://127.0.0.1:9", "FORMLOOP_FORMS_DIR": "/srv/forms",
        "FORMLOOP_MAX_BODY_BYTES": "1000", "FORMLOOP_MAX_FIELDS": "7", "FORMLOOP_MAX_DEPTH": "3",
        "FORMLOOP_MAX_FIELD_CHARS": "50", "FORMLOOP_STORAGE_RETRIES": "1", "FORMLOOP_STORAGE_TIMEOUT_SECONDS": "2",
        "FORMLOOP_SMTP_STARTTLS": "yes", "FORMLOOP_ACK_PER_ADDRESS_PER_DAY": "0", **PROD_SECRETS,
    })
    assert (settings.stage, settings.table_prefix, settings.region) == ("prod", "acme", "eu-west-1")
    assert (settings.dynamodb_endpoint, settings.forms_dir) == ("http://127.0.0.1:9", Path("/srv/forms"))
    assert (settings.max_body_bytes, settings.max_fields, settings.max_depth, settings.max_field_chars) == (
        1000, 7, 3, 50)
    assert (settings.storage_retries, settings.storage_timeout_seconds) == (1, 2)
    assert settings.mail.smtp_starttls is True and settings.mail.acknowledgements_per_address_per_day == 0
    assert {purpose: settings.secret(purpose) for purpose in PURPOSES} == STRONG


@pytest.mark.parametrize("variable, value, message", [
    ("FORMLOOP_MAX_BODY_BYTES", "64k", "FORMLOOP_MAX_BODY_BYTES='64k' is not a whole number"),
    ("FORMLOOP_MAX_FIELDS", "0", "FORMLOOP_MAX_FIELDS='0' must be positive"),
    ("FORMLOOP_STORAGE_RETRIES", "-1", "FORMLOOP_STORAGE_RETRIES='-1' must be positive"),
    ("FORMLOOP_SMTP_PORT", "smtp", "FORMLOOP_SMTP_PORT='smtp' is not a whole number"),
    ("FORMLOOP_ACK_PER_ADDRESS_PER_DAY", "-1", "FORMLOOP_ACK_PER_ADDRESS_PER_DAY='-1' must be zero or more"),
    ("FORMLOOP_SMTP_STARTTLS", "maybe", "FORMLOOP_SMTP_STARTTLS='maybe' must be true or false"),
    ("FORMLOOP_MAIL_BACKEND", "sendmail", "FORMLOOP_MAIL_BACKEND='sendmail' must be one of outbox, smtp, ses"),
    ("FORMLOOP_ADMIN_KEY_HASHES", "abc", "FORMLOOP_ADMIN_KEY_HASHES must list SHA-256 hex digests"),
])
def test_an_invalid_setting_names_itself(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingError) as caught:
        Settings.from_environ({variable: value})
    assert str(caught.value).startswith(message)


def test_the_plain_admin_key_is_hashed_as_admin_auth_hashes_it() -> None:
    settings = Settings.from_environ({"FORMLOOP_ADMIN_KEY": "local-key"})
    assert settings.admin_key_hashes == (hash_key("local-key"),)


def test_each_secret_has_its_own_variable_and_local_value() -> None:
    assert len({SECRETS[p].variable for p in PURPOSES}) == len({SECRETS[p].local_value for p in PURPOSES}) == 4
    local = Settings.from_environ({})
    assert {purpose: local.secret(purpose) for purpose in PURPOSES} == {
        purpose: SECRETS[purpose].local_value for purpose in PURPOSES}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_each_secret_is_refused_outside_the_local_stage_by_name(purpose: SecretPurpose) -> None:
    variable = SECRETS[purpose].variable
    others = {name: value for name, value in PROD_SECRETS.items() if name != variable}
    settings = Settings.from_environ({"FORMLOOP_STAGE": "prod", **others})  # builds: refused at first use
    with pytest.raises(SettingError) as caught:
        settings.secret(purpose)
    assert str(caught.value).startswith(f"{variable} is missing, and has no default outside the local stage")
    for other in PURPOSES:
        if other != purpose:
            assert settings.secret(other) == STRONG[other]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_short_secret_is_refused_when_the_settings_are_built(purpose: SecretPurpose) -> None:
    variable = SECRETS[purpose].variable
    with pytest.raises(SettingError, match=f"^{variable} must be at least {MIN_SECRET_CHARS} characters"):
        Settings.from_environ({variable: "too-short"})


def test_one_value_for_two_purposes_is_refused() -> None:
    shared = "s" * MIN_SECRET_CHARS
    with pytest.raises(SettingError, match="must each be a different secret"):
        Settings.from_environ({"FORMLOOP_IP_HASH_SALT": shared, "FORMLOOP_PAGE_SECRET": shared})


def _prod_services(missing: str):  # type: ignore[no-untyped-def]
    environ = {"FORMLOOP_STAGE": "prod", "FORMLOOP_FORMS_DIR": str(ROOT / "forms"), **PROD_SECRETS}
    del environ[missing]
    return build_memory_services(Settings.from_environ(environ))


def test_a_prod_form_page_without_its_page_secret_names_the_variable() -> None:
    services = _prod_services("FORMLOOP_PAGE_SECRET")
    with pytest.raises(SettingError, match="^FORMLOOP_PAGE_SECRET is missing"):
        services.submissions.page_token()


def test_a_prod_post_without_its_ip_hash_salt_names_the_variable() -> None:
    services = _prod_services("FORMLOOP_IP_HASH_SALT")
    body = json.dumps({"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "hi",
                       "consent": True}).encode()
    with pytest.raises(SettingError, match="^FORMLOOP_IP_HASH_SALT is missing"):
        services.submissions.submit(SubmitRequest("contact", body, {"content-type": "application/json"},
                                                  "203.0.113.7"))


def test_the_page_token_is_signed_with_the_page_secret_not_the_ip_hash_salt() -> None:
    settings = Settings.from_environ({"FORMLOOP_FORMS_DIR": str(ROOT / "forms"), **PROD_SECRETS})
    services = build_memory_services(settings)
    definition = services.forms.get("contact")
    assert definition is not None
    timed = dataclasses.replace(definition, settings={**definition.settings, "spam": {"minSeconds": 1}})
    token = services.submissions.page_token()
    later = services.submissions.clock() + timedelta(seconds=5)
    assert not posted_too_fast(timed, token, settings.secret("page_secret"), later)
    assert posted_too_fast(timed, token, settings.secret("ip_hash_salt"), later)  # a leaked salt forges nothing
