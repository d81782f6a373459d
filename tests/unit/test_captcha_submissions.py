"""Posts to a form with a CAPTCHA, through the submit service on the in-memory stores and a real local siteverify
server: the refusal a visitor gets back (in their language, for their form), the hosted page on Formloop's own host,
a resend under the same Idempotency-Key header, an answer too long to be a verdict, and a form whose secret is
missing."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.config import Settings
from chalicelib.core.errors import FormUnavailableError
from chalicelib.forms.definitions import FormRegistry
from chalicelib.intake.captcha import CaptchaRefusedError, TurnstileVerifier, VerifierUnavailableError
from chalicelib.intake.service import SubmissionService, SubmitOutcome, SubmitRequest
from chalicelib.wiring import MemoryStores, build_memory_services
from tests.captcha_provider import CONTACT, Provider, captcha_forms
from tests.unit.services.support import Clock

TURNSTILE = {"provider": "turnstile", "siteKey": "0x4AAAAAAAA-site", "action": "contact"}
FORM_POST = {"content-type": "application/x-www-form-urlencoded", "host": "localhost:8000"}
PADDING = "x" * (70 * 1024)  # past the 64 KB of an answer Formloop reads


def environ(forms: Path, url: str, **extra: str) -> dict[str, str]:
    return {"FORMLOOP_FORMS_DIR": str(forms), "FORMLOOP_TURNSTILE_VERIFY_URL": url,
            "FORMLOOP_CAPTCHA_TIMEOUT_MS": "2000", **extra}


class World:
    def __init__(self, tmp_path: Path, provider: Provider, **extra: str) -> None:
        forms = captcha_forms(tmp_path, guarded=TURNSTILE)
        self.stores = MemoryStores()
        self.settings = Settings.from_environ(environ(forms, provider.url, **extra))
        self.services = build_memory_services(self.settings, self.stores, clock=Clock())

    def post(self, fields: dict[str, Any], headers: dict[str, str] | None = None) -> SubmitOutcome:
        return self.services.submissions.submit(SubmitRequest(
            "guarded", urlencode(fields).encode(), {**FORM_POST, **(headers or {})}, source_ip="203.0.113.9"))

    def stored(self) -> list[Any]:
        return list(self.stores.submissions.list("guarded"))


def test_a_refused_post_comes_back_as_its_form_in_the_visitor_s_language(tmp_path: Path, provider: Provider) -> None:
    world = World(tmp_path, provider)
    with pytest.raises(CaptchaRefusedError) as caught:
        world.post({**CONTACT, "_language": "fr"})
    assert (caught.value.reason, caught.value.form_id, caught.value.language) == ("missing", "guarded", "fr")
    assert caught.value.values is not None and caught.value.values["name"] == ["Ann"]
    assert world.stored() == []


def test_the_hosted_page_on_formloop_s_own_host_is_a_site_of_the_form(tmp_path: Path, provider: Provider) -> None:
    world = World(tmp_path, provider)
    token = provider.answer("own-host", {"success": True, "hostname": "forms.example", "action": "contact"})
    outcome = world.post({**CONTACT, "cf-turnstile-response": token}, {"host": "Forms.Example"})
    assert outcome.status == "received"
    other = provider.answer("own-host-2", {"success": True, "hostname": "forms.example", "action": "contact"})
    with pytest.raises(CaptchaRefusedError) as caught:
        world.post({**CONTACT, "cf-turnstile-response": other}, {"host": "other.example"})
    assert caught.value.reason == "wrong-site"


def test_a_resend_under_the_same_idempotency_key_header_answers_the_first(tmp_path: Path, provider: Provider) -> None:
    world = World(tmp_path, provider)
    fields = {**CONTACT, "cf-turnstile-response": provider.passes("t-header-retry", action="contact")}
    first = world.post(fields, {"idempotency-key": "k-1"})
    again = world.post(fields, {"idempotency-key": "k-1"})
    assert (again.created, again.submission_id, again.status) == (False, first.submission_id, "received")
    with pytest.raises(CaptchaRefusedError) as caught:  # without the key, a spent token is another post
        world.post(fields)
    assert caught.value.reason == "expired-or-used" and len(world.stored()) == 1


def test_without_a_rate_limiter_a_token_is_still_verified(tmp_path: Path, provider: Provider) -> None:
    forms = captcha_forms(tmp_path, guarded=TURNSTILE)
    settings = Settings.from_environ(environ(forms, provider.url))
    stores = MemoryStores()
    service = SubmissionService(settings, FormRegistry(forms), stores.submissions, clock=Clock())
    token = provider.passes("t-no-limiter", action="contact")
    outcome = service.submit(SubmitRequest("guarded", urlencode({**CONTACT, "cf-turnstile-response": token}).encode(),
                                           FORM_POST))
    assert outcome.status == "received" and outcome.created


@pytest.mark.parametrize("status, body", [
    (200, {"success": True, "hostname": "localhost", "action": "contact", "padding": PADDING}),
    (400, {"success": False, "error-codes": ["invalid-input-response"], "padding": PADDING}),
])
def test_an_answer_longer_than_64_kb_is_no_verdict_and_the_post_is_held(tmp_path: Path, provider: Provider,
                                                                         status: int, body: dict[str, Any]) -> None:
    world = World(tmp_path, provider)
    token = provider.answer(f"t-long-{status}", json.dumps(body).encode(), status=status)
    assert world.post({**CONTACT, "cf-turnstile-response": token}).status == "held"


def test_an_answer_that_is_no_verdict_names_the_provider(provider: Provider) -> None:
    token = provider.answer("t-garbage", b"<html>Bad gateway</html>")
    with pytest.raises(VerifierUnavailableError) as caught:
        TurnstileVerifier(provider.url, 2.0).verify(token, "secret")
    assert str(caught.value) == "turnstile siteverify answered something that is not JSON"


class Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_form_whose_secret_is_missing_stores_nothing_and_tells_its_owner(tmp_path: Path, provider: Provider) -> None:
    secrets = {"FORMLOOP_STAGE": "prod", "FORMLOOP_IP_HASH_SALT": "s" * 40, "FORMLOOP_PAGE_SECRET": "p" * 40,
               "FORMLOOP_GIFT_SECRET": "g" * 40}
    world = World(tmp_path, provider, **secrets)
    logger, handler = logging.getLogger("formloop.intake"), Logged()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with pytest.raises(FormUnavailableError) as caught:
            world.post({**CONTACT, "cf-turnstile-response": provider.passes("t-nosecret", action="contact")})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert caught.value.message == ("This form cannot check its human test just now, so nothing was stored; its "
                                    "owner has been told. Please try again later.")
    [line] = handler.lines
    assert line.startswith("form guarded cannot verify its CAPTCHA: ") and "FORMLOOP_TURNSTILE_SECRET" in line
    assert world.stored() == []
