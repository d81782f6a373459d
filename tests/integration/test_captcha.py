"""A form's CAPTCHA through the HTTP app (chalice.test.Client) on DynamoDB Local, with a real local siteverify
server: browsers and scripts get the answers docs/captcha.md promises, and a token is spent in the same
transaction that stores its post."""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.config import CaptchaSettings
from chalicelib.forms.definitions import FormRegistry
from chalicelib.intake.captcha import CaptchaGuard, token_key
from tests.captcha_provider import CONTACT, Provider, captcha_forms, closed_port_url

FORM = "guarded"
TURNSTILE = {"provider": "turnstile", "siteKey": "0x4AAAAAAAA-site", "action": "contact"}
BROWSER = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html", "Host": "localhost"}
SCRIPT = {"Content-Type": "application/json", "Accept": "application/json", "Host": "localhost"}


@pytest.fixture
def guarded(services: Any, tmp_path: Path, provider: Provider) -> Iterator[Any]:
    """The session's services serving a Turnstile-guarded contact form, verified at the local provider."""
    submissions = services.submissions
    original = services.forms, submissions.settings, submissions._captcha
    services.forms = submissions.forms = FormRegistry(captcha_forms(
        tmp_path, guarded=TURNSTILE, invisible={"provider": "recaptcha-v3", "siteKey": "6Lc-site-key-v3"}))
    submissions.settings = dataclasses.replace(submissions.settings, captcha=CaptchaSettings(
        verify_urls=(("turnstile", provider.url),), timeout_ms=500))
    submissions._captcha = None
    yield services
    services.forms = submissions.forms = original[0]
    submissions.settings, submissions._captcha = original[1], original[2]


def _browser_post(client: Any, fields: dict[str, Any]) -> Any:
    return client.http.post(f"/f/{FORM}", headers=BROWSER, body=urlencode(fields))


def _statuses(services: Any) -> list[str]:
    return sorted(s.status for s in services.store.list(FORM))


def test_the_page_shows_the_widget(client: Any, guarded: Any) -> None:
    page = client.http.get(f"/f/{FORM}").body.decode()
    assert '<div class="cf-turnstile" data-sitekey="0x4AAAAAAAA-site" data-action="contact"></div>' in page
    assert '<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>' in page


def test_the_pages_policy_lets_the_widget_load(client: Any, guarded: Any) -> None:
    policy = client.http.get(f"/f/{FORM}").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert "https://challenges.cloudflare.com" in directives["script-src"]
    assert "https://challenges.cloudflare.com" in directives["frame-src"]


def test_the_v3_pages_own_script_is_allowed_by_its_hash(client: Any, guarded: Any) -> None:
    import base64
    import hashlib
    response = client.http.get("/f/invisible")
    page, policy = response.body.decode(), response.headers["Content-Security-Policy"]
    script_sources = next(part.split()[1:] for part in policy.split("; ") if part.startswith("script-src"))
    assert "https://www.google.com/recaptcha/" in script_sources
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert any("grecaptcha.execute" in block for block in inline)
    for block in inline:
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_sources


def test_a_verified_browser_post_is_stored_and_its_token_spent(client: Any, guarded: Any, provider: Provider) -> None:
    token = provider.passes("it-good", action="contact")
    response = _browser_post(client, {**CONTACT, "cf-turnstile-response": token})
    assert response.status_code == 303
    stored, = guarded.store.list(FORM)
    assert stored.status == "received" and "cf-turnstile-response" not in stored.answers
    # spent in the rate-limits table, in the same transaction as the submission
    assert guarded.submissions.limiter.store.uses(token_key("turnstile", token)) == 1


def test_a_browser_without_a_token_gets_the_form_back_with_its_answers(client: Any, guarded: Any) -> None:
    response = _browser_post(client, {**CONTACT, "message": "Keep this text"})
    assert response.status_code == 422
    page = response.body.decode()
    assert "Keep this text</textarea>" in page and 'value="Ann"' in page
    assert re.search(r'id="q-captcha-error" role="alert">Please complete the human check', page)
    assert 'class="cf-turnstile"' in page  # a fresh widget to complete
    assert _statuses(guarded) == []


def test_a_script_with_a_refused_token_gets_a_problem(client: Any, guarded: Any, provider: Provider) -> None:
    token = provider.answer("it-dup", {"success": False, "error-codes": ["timeout-or-duplicate"]})
    response = client.http.post(f"/f/{FORM}", headers=SCRIPT,
                                body=json.dumps({**CONTACT, "consent": True, "cf-turnstile-response": token}))
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.body)
    assert (problem["title"], problem["captcha"]) == ("Human check not passed", "expired-or-used")
    assert problem["errors"][0]["pointer"] == "/cf-turnstile-response"
    assert _statuses(guarded) == []


def test_a_token_is_accepted_once(client: Any, guarded: Any, provider: Provider) -> None:
    token = provider.passes("it-once", action="contact")
    assert _browser_post(client, {**CONTACT, "cf-turnstile-response": token}).status_code == 303
    provider.spent.discard(token)  # the provider forgot: Formloop has not
    again = _browser_post(client, {**CONTACT, "message": "Second", "cf-turnstile-response": token})
    assert again.status_code == 422 and "expired or was already used" in again.body.decode()
    assert _statuses(guarded) == ["received"]


def test_the_conditional_write_alone_refuses_a_spent_token(guarded: Any, provider: Provider) -> None:
    """Two posts racing with one token both pass the read; the transaction lets only one through."""
    from chalicelib.intake.captcha import CaptchaRefusedError
    from chalicelib.intake.service import SubmitRequest
    submissions = guarded.submissions
    submissions._captcha = CaptchaGuard(submissions.settings.captcha, uses=None)  # no read first: only the write
    token = provider.passes("it-race", action="contact")
    headers = {"content-type": "application/x-www-form-urlencoded", "host": "localhost"}
    submissions.submit(SubmitRequest(FORM, urlencode({**CONTACT, "cf-turnstile-response": token}).encode(), headers))
    provider.spent.discard(token)
    with pytest.raises(CaptchaRefusedError):
        submissions.submit(SubmitRequest(
            FORM, urlencode({**CONTACT, "message": "Racing", "cf-turnstile-response": token}).encode(), headers))
    assert _statuses(guarded) == ["received"]


def test_the_same_post_sent_again_is_answered_with_the_first(client: Any, guarded: Any, provider: Provider) -> None:
    body = json.dumps({**CONTACT, "consent": True, "cf-turnstile-response": provider.passes("it-retry",
                                                                                           action="contact")})
    first = client.http.post(f"/f/{FORM}", headers={**SCRIPT, "Idempotency-Key": "retry-1"}, body=body)
    second = client.http.post(f"/f/{FORM}", headers={**SCRIPT, "Idempotency-Key": "retry-1"}, body=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert json.loads(first.body)["id"] == json.loads(second.body)["id"]
    assert _statuses(guarded) == ["received"]


def test_an_outage_stores_the_post_held(client: Any, guarded: Any) -> None:
    guarded.submissions.settings = dataclasses.replace(guarded.submissions.settings, captcha=CaptchaSettings(
        verify_urls=(("turnstile", closed_port_url()),), timeout_ms=500))
    browser = _browser_post(client, {**CONTACT, "cf-turnstile-response": "it-outage-1"})
    script = client.http.post(f"/f/{FORM}", headers=SCRIPT,
                              body=json.dumps({**CONTACT, "consent": True, "cf-turnstile-response": "it-outage-2"}))
    assert browser.status_code == 303
    assert (script.status_code, json.loads(script.body)["status"]) == (201, "held")
    assert _statuses(guarded) == ["held", "held"]
