"""The CAPTCHA verifiers against a real local siteverify server, the verdict rules, the settings, the definition
checks and the hosted page's widget."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.config import CaptchaSettings, SettingError, Settings, captcha_form_variable
from chalicelib.core.errors import DefinitionError
from chalicelib.forms.checks import check_document
from chalicelib.forms.definitions import FormRegistry
from chalicelib.intake.captcha import (
    HCaptchaVerifier,
    RecaptchaVerifier,
    TurnstileVerifier,
    Verdict,
    VerifierUnavailableError,
    allowed_hostnames,
    judge,
    page_sources,
    parse_verdict,
    token_key,
)
from chalicelib.pages.rendering import render_form
from tests.captcha_provider import ROOT, SECRET, Provider, captcha_forms, closed_port_url

# --- the HTTP verifiers -----------------------------------------------------------------------------------------

def test_a_good_token_is_verified_once_then_refused_as_a_duplicate(provider: Provider) -> None:
    verifier = TurnstileVerifier(provider.url, 2)
    provider.passes("good-once", action="contact")
    verdict = verifier.verify("good-once", SECRET, "203.0.113.9")
    assert verdict == Verdict(success=True, hostname="localhost", action="contact")
    assert provider.requests[-1] == {"secret": SECRET, "response": "good-once", "remoteip": "203.0.113.9"}
    again = verifier.verify("good-once", SECRET)
    assert again.success is False and again.error_codes == ("timeout-or-duplicate",)
    assert "remoteip" not in provider.requests[-1]


@pytest.mark.parametrize("code", ["invalid-input-response", "timeout-or-duplicate", "missing-input-secret",
                                  "invalid-input-secret", "bad-request", "internal-error"])
def test_each_failure_code_reaches_the_verdict(provider: Provider, code: str) -> None:
    provider.answer(f"code-{code}", {"success": False, "error-codes": [code]})
    verdict = RecaptchaVerifier(provider.url, 2).verify(f"code-{code}", SECRET)
    assert verdict == Verdict(success=False, error_codes=(code,))


def test_the_server_itself_refuses_a_missing_secret(provider: Provider) -> None:
    verdict = TurnstileVerifier(provider.url, 2).verify("anything", "")
    assert verdict.error_codes == ("missing-input-secret",)


def test_hcaptcha_is_told_the_site_key(provider: Provider) -> None:
    provider.passes("hc-token")
    HCaptchaVerifier(provider.url, 2, site_key="10000000-ffff-ffff-ffff-000000000001").verify("hc-token", SECRET)
    assert provider.requests[-1]["sitekey"] == "10000000-ffff-ffff-ffff-000000000001"


def test_a_v3_score_and_action_are_read(provider: Provider) -> None:
    provider.passes("v3-token", score=0.7, action="submit")
    assert RecaptchaVerifier(provider.url, 2).verify("v3-token", SECRET).score == 0.7


def test_a_timeout_is_an_outage_within_the_timeout(provider: Provider) -> None:
    provider.answer("slow", {"success": True, "hostname": "localhost"}, delay=1.5)
    started = time.monotonic()
    with pytest.raises(VerifierUnavailableError, match="unreachable"):
        TurnstileVerifier(provider.url, 0.3).verify("slow", SECRET)
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_an_outage(provider: Provider, status: int) -> None:
    provider.answer(f"status-{status}", {"success": True, "hostname": "localhost"}, status=status)
    with pytest.raises(VerifierUnavailableError, match=f"HTTP {status}"):
        TurnstileVerifier(provider.url, 2).verify(f"status-{status}", SECRET)


def test_a_4xx_with_error_codes_is_a_verdict(provider: Provider) -> None:
    provider.answer("bad-req", {"success": False, "error-codes": ["invalid-input-response"]}, status=400)
    assert TurnstileVerifier(provider.url, 2).verify("bad-req", SECRET).error_codes == ("invalid-input-response",)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b'{"success": "yes"}', b"[true]", b"\xff\xfe"])
def test_garbage_is_an_outage(provider: Provider, body: bytes) -> None:
    provider.answer(f"garbage-{body!r}", body)
    with pytest.raises(VerifierUnavailableError):
        TurnstileVerifier(provider.url, 2).verify(f"garbage-{body!r}", SECRET)


def test_a_refused_connection_is_an_outage() -> None:
    with pytest.raises(VerifierUnavailableError, match="unreachable"):
        HCaptchaVerifier(closed_port_url(), 2).verify("token", SECRET)


def test_parse_verdict_ignores_fields_of_the_wrong_type() -> None:
    verdict = parse_verdict(json.dumps({"success": True, "hostname": 7, "action": ["x"], "score": True,
                                        "error-codes": "one"}).encode())
    assert verdict == Verdict(success=True, error_codes=("one",), hostname=None, action=None, score=None)


# --- what a verdict means -------------------------------------------------------------------------------------------

TURNSTILE = {"provider": "turnstile", "siteKey": "0x4AAAAAAAA-site", "action": "contact"}
V3 = {"provider": "recaptcha-v3", "siteKey": "6Lc-site-key-v3", "minScore": 0.6}
HOSTS = {"shop.example.com", "forms.example.net"}


@pytest.mark.parametrize(("verdict", "captcha", "reason"), [
    (Verdict(True, hostname="shop.example.com", action="contact"), TURNSTILE, None),
    (Verdict(True, hostname="SHOP.example.com", action="contact"), TURNSTILE, None),
    (Verdict(True, hostname="evil.example.org", action="contact"), TURNSTILE, "wrong-site"),
    (Verdict(True, hostname=None, action="contact"), TURNSTILE, "wrong-site"),
    (Verdict(True, hostname="shop.example.com", action="login"), TURNSTILE, "wrong-action"),
    (Verdict(True, hostname="shop.example.com", action="submit", score=0.6), V3, None),
    (Verdict(True, hostname="shop.example.com", action="submit", score=0.59), V3, "low-score"),
    (Verdict(True, hostname="shop.example.com", action="submit", score=None), V3, "low-score"),
    (Verdict(True, hostname="shop.example.com", action="homepage", score=0.9), V3, "wrong-action"),
    (Verdict(False, ("invalid-input-response",)), TURNSTILE, "invalid"),
    (Verdict(False, ("timeout-or-duplicate",)), TURNSTILE, "expired-or-used"),
    (Verdict(False, ("missing-input-response",)), TURNSTILE, "missing"),
    (Verdict(False, ()), TURNSTILE, "invalid"),
    (Verdict(False, ("missing-input-secret",)), TURNSTILE, "unjudged"),
    (Verdict(False, ("invalid-input-secret",)), TURNSTILE, "unjudged"),
    (Verdict(False, ("internal-error",)), TURNSTILE, "unjudged"),
    (Verdict(False, ("invalid-input-response", "sitekey-secret-mismatch")), TURNSTILE, "unjudged"),
])
def test_judge(verdict: Verdict, captcha: dict[str, Any], reason: str | None) -> None:
    assert judge(verdict, captcha, HOSTS) == reason


def test_v3_without_a_min_score_asks_for_half() -> None:
    captcha = {"provider": "recaptcha-v3", "siteKey": "6Lc-site-key-v3"}
    assert judge(Verdict(True, hostname="shop.example.com", action="submit", score=0.5), captcha, HOSTS) is None
    assert judge(Verdict(True, hostname="shop.example.com", action="submit", score=0.4), captcha, HOSTS) == "low-score"


def test_allowed_hostnames_are_the_forms_sites_and_formloops_own_host(tmp_path: Path) -> None:
    forms = captcha_forms(tmp_path, guarded=TURNSTILE)
    definition = json.loads((forms / "guarded.json").read_text())
    definition["x-form"]["allowedOrigins"] = ["https://Shop.example.com", "http://localhost:8080"]
    (forms / "guarded.json").write_text(json.dumps(definition))
    form = FormRegistry(forms).require("guarded")
    assert allowed_hostnames(form, "abc.execute-api.eu-west-1.amazonaws.com:443") == {
        "shop.example.com", "localhost", "abc.execute-api.eu-west-1.amazonaws.com"}
    assert allowed_hostnames(form, "[::1]:8000") == {"shop.example.com", "localhost", "::1"}
    assert allowed_hostnames(form, "[oops") == {"shop.example.com", "localhost"}


def test_a_token_key_keeps_no_usable_token() -> None:
    key = token_key("turnstile", "secret-token-value")
    assert "secret-token-value" not in key and key.startswith("captcha#turnstile#")
    assert key != token_key("hcaptcha", "secret-token-value")


# --- the hosted page ------------------------------------------------------------------------------------------------

def test_page_sources_for_each_provider() -> None:
    assert page_sources("turnstile") == (["https://challenges.cloudflare.com"], ["https://challenges.cloudflare.com"])
    scripts, frames = page_sources("hcaptcha")
    assert "https://*.hcaptcha.com" in scripts and "https://*.hcaptcha.com" in frames
    scripts, frames = page_sources("recaptcha-v2")
    assert scripts == ["https://www.google.com/recaptcha/", "https://www.gstatic.com/recaptcha/"]
    assert "https://recaptcha.google.com/recaptcha/" in frames
    assert page_sources("recaptcha-v3") == page_sources("recaptcha-v2")
    page_sources("turnstile")[0].append("https://evil.example")  # a copy: the caller cannot change the table
    assert page_sources("turnstile")[0] == ["https://challenges.cloudflare.com"]
    with pytest.raises(ValueError, match="no CAPTCHA provider 'recaptcha'"):
        page_sources("recaptcha")


@pytest.mark.parametrize(("captcha", "script", "container"), [
    (TURNSTILE, "https://challenges.cloudflare.com/turnstile/v0/api.js", 'class="cf-turnstile"'),
    ({"provider": "hcaptcha", "siteKey": "10000000-ffff-ffff-ffff-000000000001"}, "https://js.hcaptcha.com/1/api.js",
     'class="h-captcha"'),
    ({"provider": "recaptcha-v2", "siteKey": "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"},
     "https://www.google.com/recaptcha/api.js", 'class="g-recaptcha"'),
    (V3, "https://www.google.com/recaptcha/api.js?render=6Lc-site-key-v3", 'name="g-recaptcha-response"'),
])
def test_the_form_page_carries_the_widget_and_its_script(tmp_path: Path, captcha: dict[str, Any], script: str,
                                                         container: str) -> None:
    form = FormRegistry(captcha_forms(tmp_path, guarded=captcha)).require("guarded")
    page = render_form(form, "en", action="guarded")
    assert f'<script src="{script}" async defer></script>' in page
    assert container in page and f'data-sitekey="{captcha["siteKey"]}"' in page
    assert page.index('id="q-captcha"') < page.index('<button type="submit">')


def test_a_form_without_captcha_has_no_widget() -> None:
    page = render_form(FormRegistry(ROOT / "forms").require("contact"), "en", action="contact")
    assert "captcha" not in page


def test_a_captcha_error_shows_beside_the_widget_with_the_answers_kept(tmp_path: Path) -> None:
    from chalicelib.core.errors import FieldError
    form = FormRegistry(captcha_forms(tmp_path, guarded=TURNSTILE)).require("guarded")
    page = render_form(form, "en", action="guarded", values={"name": "Ann", "message": "Hello there"},
                       errors=[FieldError("cf-turnstile-response", "Please complete the human check.")])
    assert 'id="q-captcha-error" role="alert">Please complete the human check.</p>' in page
    assert '<a href="#q-captcha">Please complete the human check.</a>' in page
    assert 'value="Ann"' in page and "Hello there</textarea>" in page
    assert "cf-turnstile-response:" not in page


# --- settings -------------------------------------------------------------------------------------------------------

def test_a_form_secret_wins_over_the_providers() -> None:
    settings = CaptchaSettings.from_environ({"FORMLOOP_TURNSTILE_SECRET": "provider-wide",
                                             "FORMLOOP_CAPTCHA_SECRET_CUSTOMER_SURVEY": "survey-only"}, "prod")
    assert captcha_form_variable("customer-survey") == "FORMLOOP_CAPTCHA_SECRET_CUSTOMER_SURVEY"
    assert settings.secret("turnstile", "customer-survey") == "survey-only"
    assert settings.secret("turnstile", "contact") == "provider-wide"


def test_a_missing_secret_is_named_outside_the_local_stage() -> None:
    settings = Settings.from_environ({"FORMLOOP_STAGE": "prod"}).captcha
    with pytest.raises(SettingError, match=r"FORMLOOP_HCAPTCHA_SECRET \(or FORMLOOP_CAPTCHA_SECRET_CONTACT for "
                                           r"this form only\) is missing"):
        settings.secret("hcaptcha", "contact")


def test_the_local_stage_falls_back_to_the_providers_test_secrets() -> None:
    settings = Settings.from_environ({}).captcha
    assert settings.secret("turnstile", "contact") == "1x0000000000000000000000000000000AA"


def test_verify_urls_and_timeout_come_from_the_environment() -> None:
    settings = CaptchaSettings.from_environ({"FORMLOOP_RECAPTCHA_VERIFY_URL": "http://127.0.0.1:9/v",
                                             "FORMLOOP_CAPTCHA_TIMEOUT_MS": "1500"}, "local")
    assert settings.verify_url("recaptcha-v3") == "http://127.0.0.1:9/v"
    assert settings.verify_url("turnstile") == "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    assert settings.timeout_ms == 1500
    assert CaptchaSettings().timeout_ms == 3000
    with pytest.raises(SettingError, match="FORMLOOP_TURNSTILE_VERIFY_URL='file:///etc/passwd' must be an http"):
        CaptchaSettings.from_environ({"FORMLOOP_TURNSTILE_VERIFY_URL": "file:///etc/passwd"}, "local")


# --- definitions ----------------------------------------------------------------------------------------------------

def _definition(captcha: Any) -> dict[str, Any]:
    contact = json.loads((ROOT / "forms" / "contact.json").read_text())
    contact["x-form"]["captcha"] = captcha
    return contact


@pytest.mark.parametrize(("captcha", "path", "message"), [
    ({"provider": "recaptcha", "siteKey": "6Lc-site-key"}, "$.x-form.captcha.provider", "is not one of"),
    ({"provider": "turnstile"}, "$.x-form.captcha", "'siteKey' is a required property"),
    ({"provider": "turnstile", "siteKey": "0x4AAA", "secret": "x"}, "$.x-form.captcha.secret",
     "never goes in a definition"),
    ({"provider": "turnstile", "siteKey": "0x4AAAAAAA", "secretKey": "x"}, "$.x-form.captcha.secretKey",
     "never goes in a definition"),
    ({"provider": "turnstile", "siteKey": "0x4AAAAAAA", "minScore": 0.5}, "$.x-form.captcha.minScore",
     "only reCAPTCHA v3 scores"),
    ({"provider": "hcaptcha", "siteKey": "10000000-ffff", "action": "contact"}, "$.x-form.captcha.action",
     "only Turnstile and reCAPTCHA v3"),
    ({"provider": "recaptcha-v3", "siteKey": "6Lc-site-key", "minScore": 2}, "$.x-form.captcha.minScore",
     "greater than the maximum"),
    ({"provider": "turnstile", "siteKey": "0x4AAA\" onload=\"x"}, "$.x-form.captcha.siteKey", "does not match"),
    ("turnstile", "$.x-form.captcha", "is not of type 'object'"),
])
def test_a_bad_captcha_setting_is_a_definition_error(captcha: Any, path: str, message: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        check_document(_definition(captcha), "forms/contact.json")
    assert raised.value.json_path == path
    assert message in raised.value.message


def test_a_good_captcha_setting_passes() -> None:
    check_document(_definition({"provider": "recaptcha-v3", "siteKey": "6Lc-site-key", "action": "contact_form",
                                "minScore": 0.7}), "forms/contact.json")


# --- the token as a control field -----------------------------------------------------------------------------------

def _split(tmp_path: Path, captcha: dict[str, Any] | None, values: dict[str, Any]) -> tuple[Any, Any, Any]:
    from chalicelib.forms.answers import split_control
    tmp_path.mkdir(exist_ok=True)
    form = FormRegistry(captcha_forms(tmp_path, guarded=captcha)).require("guarded")
    return split_control(values, form)


def test_the_token_is_read_from_its_providers_field_and_is_no_answer(tmp_path: Path) -> None:
    answers, control, errors = _split(tmp_path, TURNSTILE, {"name": ["Ann"], "cf-turnstile-response": ["a", "b "],
                                                            "g-recaptcha-response": ["other"]})
    assert (answers, control.captcha_token, errors) == ({"name": ["Ann"]}, "b", [])


def test_hcaptcha_prefers_its_own_field(tmp_path: Path) -> None:
    captcha = {"provider": "hcaptcha", "siteKey": "10000000-ffff-ffff-ffff-000000000001"}
    _, control, _ = _split(tmp_path / "a", captcha, {"h-captcha-response": "own", "g-recaptcha-response": "compat"})
    assert control.captcha_token == "own"
    _, control, _ = _split(tmp_path / "b", captcha, {"h-captcha-response": " ", "g-recaptcha-response": "compat"})
    assert control.captcha_token == "compat"


@pytest.mark.parametrize(("token", "accepted"), [("x" * 4096, True), ("x" * 4097, False), ("ab\ncd", False),
                                                 ("ab\u2028cd", False), ({"nested": "x"}, False)])
def test_a_token_is_one_line_of_at_most_4096_characters(tmp_path: Path, token: Any, accepted: bool) -> None:
    _, control, errors = _split(tmp_path, TURNSTILE, {"cf-turnstile-response": token})
    if accepted:
        assert (control.captcha_token, errors) == (token, [])
    elif isinstance(token, dict):
        assert (control.captcha_token, errors) == (None, [])  # not text: no token, so "missing" at the check
    else:
        assert control.captcha_token is None
        assert [(e.field, e.message) for e in errors] == [
            ("cf-turnstile-response", "is not a token from the human check; please complete the check again.")]


def test_a_form_without_captcha_reads_no_token_and_stores_none(tmp_path: Path) -> None:
    answers, control, errors = _split(tmp_path, None, {"name": "Ann", "cf-turnstile-response": "x\n",
                                                       "h-captcha-response": "y", "g-recaptcha-response": "z"})
    assert (answers, control.captcha_token, errors) == ({"name": "Ann"}, None, [])
