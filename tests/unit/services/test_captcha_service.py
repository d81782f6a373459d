"""The submit service with a form's CAPTCHA, over the in-memory stores and a real local siteverify server: a good
token stores the post once, a bad or missing one is a 422 that stores nothing, an outage stores the post held."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.config import Settings
from chalicelib.core.errors import FormUnavailableError
from chalicelib.intake.captcha import CaptchaRefusedError, token_key
from chalicelib.intake.service import SubmitOutcome, SubmitRequest
from chalicelib.jobs import dispatch
from chalicelib.wiring import MemoryStores, Services, build_memory_services
from tests.captcha_provider import CONTACT, Provider, captcha_forms, closed_port_url

from .support import Clock
from .test_delivery_service import FakeMailer

CAPTCHAS = {
    "turnstile-form": {"provider": "turnstile", "siteKey": "0x4AAAAAAAA-site", "action": "contact"},
    "hcaptcha-form": {"provider": "hcaptcha", "siteKey": "10000000-ffff-ffff-ffff-000000000001"},
    "v2-form": {"provider": "recaptcha-v2", "siteKey": "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"},
    "v3-form": {"provider": "recaptcha-v3", "siteKey": "6Lc-site-key-v3", "minScore": 0.6},
    "plain": None,
}
FORM_POST = {"content-type": "application/x-www-form-urlencoded", "host": "localhost:8000"}


def _environ(forms: Path, url: str, **extra: str) -> dict[str, str]:
    return {"FORMLOOP_FORMS_DIR": str(forms), "FORMLOOP_TURNSTILE_VERIFY_URL": url,
            "FORMLOOP_HCAPTCHA_VERIFY_URL": url, "FORMLOOP_RECAPTCHA_VERIFY_URL": url,
            "FORMLOOP_CAPTCHA_TIMEOUT_MS": "500", **extra}


class World:
    """Services over memory stores, a fake mailer and the forms of CAPTCHAS."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.stores, self.mailer = MemoryStores(), FakeMailer()
        self.services: Services = build_memory_services(Settings.from_environ(environ), self.stores, clock=Clock(),
                                                        mailer=self.mailer)

    def post(self, form: str, fields: dict[str, Any], headers: dict[str, str] | None = None,
             as_json: bool = False) -> SubmitOutcome:
        body = json.dumps(fields).encode() if as_json else urlencode(fields).encode()
        sent = {**FORM_POST, **({"content-type": "application/json"} if as_json else {}), **(headers or {})}
        return self.services.submissions.submit(SubmitRequest(form, body, sent, source_ip="203.0.113.9"))

    def refused(self, form: str, fields: dict[str, Any], **kwargs: Any) -> CaptchaRefusedError:
        with pytest.raises(CaptchaRefusedError) as raised:
            self.post(form, fields, **kwargs)
        assert self.stored(form) == []
        return raised.value

    def stored(self, form: str) -> list[Any]:
        return list(self.stores.submissions.list(form))


@pytest.fixture
def world(tmp_path: Path, provider: Provider) -> World:
    return World(_environ(captcha_forms(tmp_path, **CAPTCHAS), provider.url))


def test_a_verified_post_is_received_and_the_token_is_no_answer(world: World, provider: Provider) -> None:
    token = provider.passes("t-good", action="contact")
    outcome = world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": token})
    stored, = world.stored("turnstile-form")
    assert (stored.status, outcome.as_json()["status"]) == ("received", "received")
    assert "cf-turnstile-response" not in stored.answers and stored.answers["name"] == "Ann"
    assert provider.requests[-1]["remoteip"] == "203.0.113.9"
    assert world.stores.submissions.limits.uses(token_key("turnstile", token)) == 1


def test_a_token_in_a_json_body_is_read(world: World, provider: Provider) -> None:
    token = provider.passes("t-json", action="contact")
    world.post("turnstile-form", {**CONTACT, "consent": True, "cf-turnstile-response": token}, as_json=True)
    assert [s.status for s in world.stored("turnstile-form")] == ["received"]


def test_a_missing_token_is_refused_without_asking_the_provider(world: World, provider: Provider) -> None:
    asked = len(provider.requests)
    error = world.refused("turnstile-form", CONTACT)
    assert (error.STATUS_CODE, error.reason) == (422, "missing")
    assert error.problem()["errors"] == [{"pointer": "/cf-turnstile-response", "field": "cf-turnstile-response",
                                          "message": error.message}]
    assert error.problem()["captcha"] == "missing" and "complete the human check" in error.message
    assert error.values["name"] == ["Ann"]  # the form comes back with the answers kept
    assert len(provider.requests) == asked


@pytest.mark.parametrize(("code", "reason"), [("invalid-input-response", "invalid"),
                                              ("timeout-or-duplicate", "expired-or-used")])
def test_a_token_the_provider_refuses_is_refused(world: World, provider: Provider, code: str, reason: str) -> None:
    token = provider.answer(f"t-{code}", {"success": False, "error-codes": [code]})
    assert world.refused("turnstile-form", {**CONTACT, "cf-turnstile-response": token}).reason == reason


def test_an_unknown_token_is_invalid(world: World) -> None:
    assert world.refused("v2-form", {**CONTACT, "g-recaptcha-response": "made-up"}).reason == "invalid"


def test_a_token_from_another_site_or_action_is_refused(world: World, provider: Provider) -> None:
    elsewhere = provider.answer("t-elsewhere", {"success": True, "hostname": "evil.example.org", "action": "contact"})
    assert world.refused("turnstile-form", {**CONTACT, "cf-turnstile-response": elsewhere}).reason == "wrong-site"
    login = provider.passes("t-login", action="login")
    assert world.refused("turnstile-form", {**CONTACT, "cf-turnstile-response": login}).reason == "wrong-action"


def test_a_low_v3_score_is_refused_and_a_good_one_received(world: World, provider: Provider) -> None:
    low = provider.passes("v3-low", action="submit", score=0.3)
    assert world.refused("v3-form", {**CONTACT, "g-recaptcha-response": low}).reason == "low-score"
    good = provider.passes("v3-good", action="submit", score=0.9)
    world.post("v3-form", {**CONTACT, "g-recaptcha-response": good})
    assert [s.status for s in world.stored("v3-form")] == ["received"]


def test_hcaptcha_reads_either_of_its_fields(world: World, provider: Provider) -> None:
    world.post("hcaptcha-form", {**CONTACT, "g-recaptcha-response": provider.passes("hc-1")})
    world.post("hcaptcha-form", {**CONTACT, "h-captcha-response": provider.passes("hc-2")})
    assert provider.requests[-1]["sitekey"] == CAPTCHAS["hcaptcha-form"]["siteKey"]
    assert len(world.stored("hcaptcha-form")) == 2


def test_a_token_formloop_accepted_is_refused_again_without_asking(world: World, provider: Provider) -> None:
    token = provider.passes("t-once", action="contact")
    world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": token})
    provider.spent.discard(token)  # even if the provider forgot it, Formloop does not
    asked = len(provider.requests)
    with pytest.raises(CaptchaRefusedError) as raised:
        world.post("turnstile-form", {**CONTACT, "message": "Another one", "cf-turnstile-response": token})
    assert raised.value.reason == "expired-or-used" and len(world.stored("turnstile-form")) == 1
    assert len(provider.requests) == asked


def test_the_same_post_sent_again_answers_the_first(world: World, provider: Provider) -> None:
    fields = {**CONTACT, "cf-turnstile-response": provider.passes("t-retry", action="contact"), "_idempotency": "k1"}
    first = world.post("turnstile-form", fields)
    second = world.post("turnstile-form", fields)
    assert (second.submission_id, second.created) == (first.submission_id, False)
    with pytest.raises(CaptchaRefusedError):  # the same token with another key is another post
        world.post("turnstile-form", {**fields, "_idempotency": "k2"})
    assert len(world.stored("turnstile-form")) == 1


@pytest.mark.parametrize("outage", ["refused", "timeout", "5xx", "garbage", "missing-input-secret"])
def test_an_outage_keeps_the_post_held(tmp_path: Path, provider: Provider, outage: str) -> None:
    token = f"t-outage-{outage}"
    url = provider.url
    if outage == "refused":
        url = closed_port_url()
    elif outage == "timeout":
        provider.answer(token, {"success": True, "hostname": "localhost", "action": "contact"}, delay=1.5)
    elif outage == "5xx":
        provider.answer(token, {"success": True}, status=503)
    elif outage == "garbage":
        provider.answer(token, b"<html>Bad gateway</html>")
    else:
        provider.answer(token, {"success": False, "error-codes": ["missing-input-secret"]})
    world = World(_environ(captcha_forms(tmp_path, **CAPTCHAS), url))
    outcome = world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": token})
    stored, = world.stored("turnstile-form")
    assert (stored.status, outcome.status, outcome.as_json()["status"]) == ("held", "held", "held")
    assert stored.respondent_email == "ann@example.com" and stored.feedback_kind == "question"
    with pytest.raises(CaptchaRefusedError):  # a held token is spent too
        world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": token})


def test_a_held_post_tells_the_team_and_nobody_else(tmp_path: Path) -> None:
    world = World(_environ(captcha_forms(tmp_path, **CAPTCHAS), closed_port_url()))
    outcome = world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": "t-unjudged"})
    stored = world.stores.submissions.get("turnstile-form", outcome.submission_id)
    assert stored is not None and dispatch(world.services.consumers, stored) == []
    assert world.mailer.recipients == ["team@example.com"]  # no acknowledgement
    message, _ = world.mailer.sent[0]
    assert message["Subject"].startswith("[held] ")
    assert "Held for review" in message.get_body(("plain",)).get_content()
    assert "Held for review" in message.get_body(("html",)).get_content()
    assert world.services.results is not None and world.services.results.summary("turnstile-form")["total"] == 0
    assert world.services.gifts is not None and not world.services.gifts.earns(stored)


def test_a_missing_secret_outside_the_local_stage_stores_nothing(tmp_path: Path, provider: Provider) -> None:
    secrets = {"FORMLOOP_STAGE": "prod", "FORMLOOP_IP_HASH_SALT": "s" * 40, "FORMLOOP_PAGE_SECRET": "p" * 40,
               "FORMLOOP_GIFT_SECRET": "g" * 40}
    world = World(_environ(captcha_forms(tmp_path, **CAPTCHAS), provider.url, **secrets))
    with pytest.raises(FormUnavailableError, match="nothing was stored"):
        world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": provider.passes("t-nosecret")})
    assert world.stored("turnstile-form") == []


def test_the_secret_is_sent_and_never_stored(tmp_path: Path, provider: Provider) -> None:
    world = World(_environ(captcha_forms(tmp_path, **CAPTCHAS), provider.url,
                           FORMLOOP_CAPTCHA_SECRET_TURNSTILE_FORM="form-own-secret-value"))
    world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": provider.passes("t-secret", action="contact")})
    assert provider.requests[-1]["secret"] == "form-own-secret-value"
    assert "form-own-secret-value" not in repr(world.stored("turnstile-form"))


def test_a_token_posted_to_a_form_without_captcha_is_dropped(world: World) -> None:
    world.services.submissions.submit(SubmitRequest(
        "plain", urlencode({**CONTACT, "g-recaptcha-response": "x", "cf-turnstile-response": "y"}).encode(),
        FORM_POST))
    stored, = world.stored("plain")
    assert stored.status == "received" and set(stored.answers) == {"name", "email", "topic", "message", "consent"}


def test_a_token_that_cannot_be_one_is_a_field_error(world: World) -> None:
    from chalicelib.core.errors import InvalidSubmissionError
    with pytest.raises(InvalidSubmissionError) as raised:
        world.post("turnstile-form", {**CONTACT, "cf-turnstile-response": "x" * 4097})
    assert [e.field for e in raised.value.errors] == ["cf-turnstile-response"]
    assert world.stored("turnstile-form") == []


def test_spam_is_not_sent_to_the_provider(world: World, provider: Provider) -> None:
    asked = len(provider.requests)
    world.post("turnstile-form", {**CONTACT, "_gotcha": "bot", "cf-turnstile-response": "t-bot"})
    assert [s.status for s in world.stored("turnstile-form")] == ["spam"]
    assert len(provider.requests) == asked
