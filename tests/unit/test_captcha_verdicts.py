"""What a form's CAPTCHA means for one post, with the provider's answer given by a stand-in verifier: a verified
token is received and spent once, a used one is refused unless the same post is sent again, a provider that cannot
answer holds the post, and each refusal reaches the visitor with its own reason. Also the widget the hosted page
shows."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from chalicelib.core.config import CaptchaSettings
from chalicelib.core.errors import FormloopError
from chalicelib.forms.definitions import FormDefinition, FormRegistry
from chalicelib.intake.captcha import (
    HELD,
    MESSAGES,
    RECEIVED,
    CaptchaGuard,
    CaptchaRefusedError,
    HCaptchaVerifier,
    RecaptchaVerifier,
    TurnstileVerifier,
    Verdict,
    VerifierUnavailableError,
    allowed_hostnames,
    build_verifier,
    page_sources,
    parse_verdict,
    token_key,
    widget,
)
from chalicelib.pages.rendering import render_form
from tests.captcha_provider import captcha_forms

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
TURNSTILE = {"provider": "turnstile", "siteKey": "0x4AAAAAAAA-site", "action": "contact"}
V3 = {"provider": "recaptcha-v3", "siteKey": "6Lc-site-key-v3", "minScore": 0.6}
SETTINGS = CaptchaSettings(provider_secrets=(("turnstile", "turnstile-secret"), ("recaptcha-v3", "v3-secret")),
                           form_secrets=(("FORMLOOP_CAPTCHA_SECRET_GUARDED", "form-secret"),))


class Verifier:
    """A provider's siteverify, as a stand-in: answers the verdict it is given, or cannot answer at all."""

    def __init__(self, verdict: Verdict | None = None) -> None:
        self.verdict = verdict
        self.asked: list[tuple[str, str, str | None]] = []

    def verify(self, token: str, secret: str, remote_ip: str | None = None) -> Verdict:
        self.asked.append((token, secret, remote_ip))
        if self.verdict is None:
            raise VerifierUnavailableError("turnstile siteverify unreachable: timed out")
        return self.verdict


class Uses:
    """The rate-limit counters, with the tokens already spent."""

    def __init__(self, *spent: str) -> None:
        self.spent = set(spent)

    def uses(self, key: str) -> int:
        return 1 if key in self.spent else 0


class Refused(FormloopError):
    STATUS_CODE = 422


def refuse(reason: str) -> FormloopError:
    return Refused(reason)


def form(tmp_path: Path, captcha: dict[str, Any]) -> FormDefinition:
    folder = tmp_path / f"forms-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    return FormRegistry(captcha_forms(folder, guarded=captcha)).require("guarded")


def check(guard: CaptchaGuard, definition: FormDefinition, token: str | None, *, replaying: bool = False,
          hostnames: frozenset[str] = frozenset({"localhost"})) -> Any:
    return guard.check(definition, token, hostnames=set(hostnames), remote_ip="203.0.113.9", now=NOW,
                       replaying=replaying, refuse=refuse)


class Logged(logging.Handler):
    """What the CAPTCHA guard logs, caught on its own logger (the app's logger above it may be set to drop
    warnings and not to propagate, once Chalice has configured it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged() -> Iterator[Logged]:
    logger, handler = logging.getLogger("formloop.captcha"), Logged()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def passing(**extra: Any) -> Verdict:
    return Verdict(success=True, hostname="localhost", **extra)


# --- the guard ------------------------------------------------------------------------------------------------------

def test_a_verified_token_is_received_and_spent_once_for_five_minutes(tmp_path: Path) -> None:
    verifier = Verifier(passing(action="contact"))
    guard = CaptchaGuard(SETTINGS, Uses(), {"turnstile": verifier})
    checked = check(guard, form(tmp_path, TURNSTILE), "tok-1")
    assert checked.status == RECEIVED
    use = checked.admission
    assert (use.key, use.limit, use.window_ends) == (token_key("turnstile", "tok-1"), 1, NOW + timedelta(minutes=5))
    assert str(use.refusal) == "expired-or-used"  # what a second post with the token is told
    assert verifier.asked == [("tok-1", "form-secret", "203.0.113.9")]  # the form's own secret wins


def test_a_missing_token_is_refused_without_asking_the_provider(tmp_path: Path) -> None:
    verifier = Verifier(passing(action="contact"))
    guard = CaptchaGuard(SETTINGS, Uses(), {"turnstile": verifier})
    for token in (None, ""):
        with pytest.raises(Refused, match="^missing$"):
            check(guard, form(tmp_path, TURNSTILE), token)
    assert verifier.asked == []


def test_a_spent_token_is_refused_unless_the_same_post_is_sent_again(tmp_path: Path) -> None:
    verifier = Verifier(passing(action="contact"))
    guard = CaptchaGuard(SETTINGS, Uses(token_key("turnstile", "tok-1")), {"turnstile": verifier})
    with pytest.raises(Refused, match="^expired-or-used$"):
        check(guard, form(tmp_path, TURNSTILE), "tok-1")
    again = check(guard, form(tmp_path, TURNSTILE), "tok-1", replaying=True)
    assert again.status == RECEIVED and again.admission.key == token_key("turnstile", "tok-1")
    assert verifier.asked == []  # a token is single-use: asking again would only spend it at the provider
    assert check(guard, form(tmp_path, TURNSTILE), "tok-2").status == RECEIVED


def test_without_counters_every_token_is_asked_about(tmp_path: Path) -> None:
    verifier = Verifier(passing(action="contact"))
    guard = CaptchaGuard(SETTINGS, None, {"turnstile": verifier})
    assert check(guard, form(tmp_path, TURNSTILE), "tok-1").status == RECEIVED
    assert check(guard, form(tmp_path, TURNSTILE), "tok-1").status == RECEIVED
    assert len(verifier.asked) == 2


def test_a_provider_that_cannot_answer_holds_the_post(tmp_path: Path, logged: Logged) -> None:
    guard = CaptchaGuard(SETTINGS, Uses(), {"turnstile": Verifier(None)})
    checked = check(guard, form(tmp_path, TURNSTILE), "tok-1")
    assert checked.status == HELD and checked.admission.key == token_key("turnstile", "tok-1")
    assert logged.lines == ["form guarded: turnstile siteverify unreachable: timed out; the post is held for review"]


def test_a_provider_refusing_formloop_s_own_request_holds_the_post(tmp_path: Path, logged: Logged) -> None:
    verdict = Verdict(success=False, error_codes=("invalid-input-secret", "bad-request"))
    guard = CaptchaGuard(SETTINGS, Uses(), {"turnstile": Verifier(verdict)})
    assert check(guard, form(tmp_path, TURNSTILE), "tok-1").status == HELD
    assert logged.lines == ["form guarded: turnstile siteverify refused Formloop's own request (invalid-input-secret, "
                            "bad-request): check the secret key and the site key; the post is held for review"]


@pytest.mark.parametrize("verdict, reason", [
    (Verdict(success=False, error_codes=("timeout-or-duplicate",)), "expired-or-used"),
    (Verdict(success=False), "invalid"),
    (passing(action="other"), "wrong-action"),
    (Verdict(success=True, hostname="evil.example", action="contact"), "wrong-site"),
])
def test_a_token_the_provider_judges_is_refused_with_its_reason(tmp_path: Path, verdict: Verdict,
                                                                reason: str) -> None:
    guard = CaptchaGuard(SETTINGS, Uses(), {"turnstile": Verifier(verdict)})
    with pytest.raises(Refused, match=f"^{reason}$"):
        check(guard, form(tmp_path, TURNSTILE), "tok-1")


def test_a_v3_score_below_the_form_s_minimum_is_refused(tmp_path: Path) -> None:
    definition = form(tmp_path, V3)
    low = CaptchaGuard(SETTINGS, Uses(), {"recaptcha-v3": Verifier(passing(action="submit", score=0.5))})
    with pytest.raises(Refused, match="^low-score$"):
        check(low, definition, "tok-1")
    verifier = Verifier(passing(action="submit", score=0.6))
    providers_only = CaptchaSettings(provider_secrets=SETTINGS.provider_secrets)
    guard = CaptchaGuard(providers_only, Uses(), {"recaptcha-v3": verifier})
    assert check(guard, definition, "tok-1").status == RECEIVED
    assert verifier.asked == [("tok-1", "v3-secret", "203.0.113.9")]  # the provider's secret


def test_the_http_verifier_is_built_once_per_provider_at_its_url() -> None:
    settings = CaptchaSettings(verify_urls=(("turnstile", "http://127.0.0.1:9/t"), ("hcaptcha", "http://127.0.0.1:9/h"),
                                            ("recaptcha-v2", "http://127.0.0.1:9/r"),
                                            ("recaptcha-v3", "http://127.0.0.1:9/r3")), timeout_ms=1500)
    guard = CaptchaGuard(settings)
    built = guard._verifier("hcaptcha", "10000000-site")
    assert isinstance(built, HCaptchaVerifier) and guard._verifier("hcaptcha", "other") is built
    assert (built.url, built.timeout_seconds, built.site_key) == ("http://127.0.0.1:9/h", 1.5, "10000000-site")
    assert type(build_verifier("turnstile", settings, "k")) is TurnstileVerifier
    v2, v3 = build_verifier("recaptcha-v2", settings, "k"), build_verifier("recaptcha-v3", settings, "k")
    assert isinstance(v2, RecaptchaVerifier) and isinstance(v3, RecaptchaVerifier)
    assert (v2.url, v3.url) == ("http://127.0.0.1:9/r", "http://127.0.0.1:9/r3")  # type: ignore[attr-defined]


def test_what_each_verifier_posts_to_its_provider() -> None:
    turnstile = TurnstileVerifier("http://127.0.0.1:9/t", 1.0, "site")
    assert turnstile.fields("tok", "sec", "203.0.113.9") == {"secret": "sec", "response": "tok",
                                                             "remoteip": "203.0.113.9"}
    assert turnstile.fields("tok", "sec", None) == {"secret": "sec", "response": "tok"}
    hcaptcha = HCaptchaVerifier("http://127.0.0.1:9/h", 1.0, "10000000-site")
    assert hcaptcha.fields("tok", "sec", "203.0.113.9") == {"secret": "sec", "response": "tok",
                                                            "remoteip": "203.0.113.9", "sitekey": "10000000-site"}
    assert HCaptchaVerifier("http://127.0.0.1:9/h", 1.0).fields("tok", "sec", None) == {"secret": "sec",
                                                                                        "response": "tok"}


# --- what the visitor reads -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", sorted(MESSAGES))
def test_a_refusal_names_the_widget_s_field_and_says_what_to_do(reason: str) -> None:
    error = CaptchaRefusedError(reason, "cf-turnstile-response", form_id="guarded", values={"name": "Ann"},
                                language="fr")
    assert error.message == MESSAGES[reason] and error.args == (MESSAGES[reason],)
    [field] = error.errors
    assert (field.field, field.message, field.template) == ("cf-turnstile-response", MESSAGES[reason],
                                                             MESSAGES[reason])
    assert (error.form_id, error.values, error.language, error.STATUS_CODE) == ("guarded", {"name": "Ann"}, "fr", 422)
    assert error.problem()["captcha"] == reason
    assert error.problem()["title"] == "Human check not passed"


def test_an_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        page_sources("friendlycaptcha")
    assert str(caught.value) == ("no CAPTCHA provider 'friendlycaptcha'; one of turnstile, hcaptcha, recaptcha-v2, "
                                 "recaptcha-v3")


@pytest.mark.parametrize("captcha, expected", [
    (TURNSTILE, {"provider": "turnstile", "name": "Cloudflare Turnstile", "site_key": "0x4AAAAAAAA-site",
                 "action": "contact", "script": "https://challenges.cloudflare.com/turnstile/v0/api.js",
                 "container": "cf-turnstile", "field": "cf-turnstile-response", "invisible": False}),
    ({"provider": "turnstile", "siteKey": "0x4AAAAAAAA-site"},
     {"provider": "turnstile", "name": "Cloudflare Turnstile", "site_key": "0x4AAAAAAAA-site", "action": None,
      "script": "https://challenges.cloudflare.com/turnstile/v0/api.js", "container": "cf-turnstile",
      "field": "cf-turnstile-response", "invisible": False}),
    ({"provider": "hcaptcha", "siteKey": "10000000-ffff"},
     {"provider": "hcaptcha", "name": "hCaptcha", "site_key": "10000000-ffff", "action": None,
      "script": "https://js.hcaptcha.com/1/api.js", "container": "h-captcha", "field": "h-captcha-response",
      "invisible": False}),
    ({"provider": "recaptcha-v2", "siteKey": "6LeIxAcTAAAA"},
     {"provider": "recaptcha-v2", "name": "Google reCAPTCHA", "site_key": "6LeIxAcTAAAA", "action": None,
      "script": "https://www.google.com/recaptcha/api.js", "container": "g-recaptcha",
      "field": "g-recaptcha-response", "invisible": False}),
    (V3, {"provider": "recaptcha-v3", "name": "Google reCAPTCHA", "site_key": "6Lc-site-key-v3", "action": "submit",
          "script": "https://www.google.com/recaptcha/api.js?render=6Lc-site-key-v3", "container": None,
          "field": "g-recaptcha-response", "invisible": True}),
    ({**V3, "action": "signup"},
     {"provider": "recaptcha-v3", "name": "Google reCAPTCHA", "site_key": "6Lc-site-key-v3", "action": "signup",
      "script": "https://www.google.com/recaptcha/api.js?render=6Lc-site-key-v3", "container": None,
      "field": "g-recaptcha-response", "invisible": True}),
])
def test_the_widget_of_each_provider(tmp_path: Path, captcha: dict[str, Any], expected: dict[str, Any]) -> None:
    assert widget(form(tmp_path, captcha)) == expected


def test_the_hosted_page_tells_the_widget_its_action_and_names_the_provider(tmp_path: Path) -> None:
    turnstile = render_form(form(tmp_path, TURNSTILE), "en", action="guarded")
    assert 'class="cf-turnstile" data-sitekey="0x4AAAAAAAA-site" data-action="contact"' in turnstile
    assert "Please confirm that you are a person (Cloudflare Turnstile)." in turnstile
    v3 = render_form(form(tmp_path, V3), "en", action="guarded")
    assert '<div id="captcha-v3" data-sitekey="6Lc-site-key-v3" data-action="submit">' in v3
    assert "This form is protected by Google reCAPTCHA: nothing to tick, it checks when you send." in v3
    hcaptcha = render_form(form(tmp_path, {"provider": "hcaptcha", "siteKey": "10000000-ffff"}), "en",
                           action="guarded")
    assert 'class="h-captcha" data-sitekey="10000000-ffff"></div>' in hcaptcha


# --- what reaches the provider, and what its answer must be --------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    """A siteverify endpoint that records each request's method, headers and body and answers a pass."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append({"method": self.command, "headers": dict(self.headers), "body": body})
        answer = json.dumps({"success": True, "hostname": "localhost"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        pass


def test_a_token_is_posted_as_a_form_that_asks_for_json_and_names_formloop() -> None:
    _Recorder.seen = []  # a list per run: mutmut runs the suite more than once in one process
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/siteverify"
        verdict = HCaptchaVerifier(url, 2.0, "10000000-site").verify("tok é", "sec", "203.0.113.9")
    finally:
        server.shutdown()
        server.server_close()
    assert verdict == Verdict(success=True, hostname="localhost")
    [request] = _Recorder.seen
    assert request["method"] == "POST"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["headers"]["Accept"] == "application/json"
    assert request["headers"]["User-Agent"] == "Formloop"
    assert parse_qs(request["body"].decode("ascii")) == {"secret": ["sec"], "response": ["tok é"],
                                                         "remoteip": ["203.0.113.9"], "sitekey": ["10000000-site"]}


def test_an_answer_that_is_no_verdict_says_which_provider_gave_it() -> None:
    with pytest.raises(VerifierUnavailableError) as caught:
        parse_verdict(b"<html>busy</html>", "turnstile")
    assert str(caught.value) == "turnstile siteverify answered something that is not JSON"
    with pytest.raises(VerifierUnavailableError) as caught:
        parse_verdict(b'{"success": "yes"}', "hcaptcha")
    assert str(caught.value) == "hcaptcha siteverify answered JSON without a true/false `success`"
    with pytest.raises(VerifierUnavailableError) as caught:
        parse_verdict(b"[]")
    assert str(caught.value) == "provider siteverify answered JSON without a true/false `success`"
    with pytest.raises(VerifierUnavailableError, match="^provider siteverify answered something that is not JSON$"):
        parse_verdict(b"\xff")
    assert parse_verdict('{"success": true, "hostname": "bücher.example"}'.encode()).hostname == "bücher.example"


def test_a_spent_token_is_counted_under_its_provider_and_48_hex_digits_of_its_hash() -> None:
    import hashlib
    digest = hashlib.sha256("tok é".encode()).hexdigest()
    assert token_key("hcaptcha", "tok é") == f"captcha#hcaptcha#{digest[:48]}"


def test_the_widget_may_run_on_the_form_s_sites_and_on_formloop_s_own_host(tmp_path: Path) -> None:
    definition = form(tmp_path, TURNSTILE)  # the shipped contact form's sites: 127.0.0.1:8002 and localhost:8002
    assert allowed_hostnames(definition, None) == {"127.0.0.1", "localhost"}
    assert allowed_hostnames(definition, "Forms.Example:8443") == {"127.0.0.1", "localhost", "forms.example"}
    assert allowed_hostnames(definition, "[oops") == {"127.0.0.1", "localhost"}
