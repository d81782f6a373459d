"""CAPTCHA verification for forms that ask for one (`x-form.captcha`): Cloudflare Turnstile, hCaptcha, reCAPTCHA.

A verifier asks the provider's siteverify endpoint about one token; the guard decides what its answer means for a
post: verified (stored as received), refused (a 422 the visitor can act on), or unknown because the provider could
not answer (stored, but held for review). Imported only when a form has a CAPTCHA: the plain post path never loads
it, nor urllib's HTTP client.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from chalicelib.core.config import CaptchaSettings
from chalicelib.core.errors import N_, FieldError, FormloopError, InvalidSubmissionError
from chalicelib.forms.answers import CAPTCHA_TOKEN_FIELDS
from chalicelib.forms.definitions import FormDefinition
from chalicelib.intake.admission import CountUse
from chalicelib.intake.ports import RateLimitStorage

log = logging.getLogger("formloop.captcha")

RECEIVED, HELD = "received", "held"
# The longest a provider keeps a token valid (Turnstile: 300 s; hCaptcha and reCAPTCHA: 120 s). Formloop refuses a
# token it has already accepted for at least this long; after it, the provider refuses it anyway.
TOKEN_LIFETIME = timedelta(minutes=5)
DEFAULT_V3_ACTION = "submit"
DEFAULT_MIN_SCORE = 0.5
MAX_ANSWER_BYTES = 64 * 1024

# --- what the hosted page needs ----------------------------------------------------------------------------------

_TURNSTILE = "https://challenges.cloudflare.com"
_HCAPTCHA = ["https://hcaptcha.com", "https://*.hcaptcha.com"]
_RECAPTCHA_SCRIPTS = ["https://www.google.com/recaptcha/", "https://www.gstatic.com/recaptcha/"]
_RECAPTCHA_FRAMES = ["https://www.google.com/recaptcha/", "https://recaptcha.google.com/recaptcha/"]
# As each provider documents its Content-Security-Policy needs: (script origins, frame/connect origins).
_PAGE_SOURCES: dict[str, tuple[list[str], list[str]]] = {
    "turnstile": ([_TURNSTILE], [_TURNSTILE]),
    "hcaptcha": (_HCAPTCHA, _HCAPTCHA),
    "recaptcha-v2": (_RECAPTCHA_SCRIPTS, _RECAPTCHA_FRAMES),
    "recaptcha-v3": (_RECAPTCHA_SCRIPTS, _RECAPTCHA_FRAMES),
}
_SCRIPTS = {"turnstile": f"{_TURNSTILE}/turnstile/v0/api.js", "hcaptcha": "https://js.hcaptcha.com/1/api.js",
            "recaptcha-v2": "https://www.google.com/recaptcha/api.js",
            "recaptcha-v3": "https://www.google.com/recaptcha/api.js?render="}
_CONTAINERS = {"turnstile": "cf-turnstile", "hcaptcha": "h-captcha", "recaptcha-v2": "g-recaptcha"}
PROVIDER_NAMES = {"turnstile": "Cloudflare Turnstile", "hcaptcha": "hCaptcha", "recaptcha-v2": "Google reCAPTCHA",
                  "recaptcha-v3": "Google reCAPTCHA"}


def page_sources(provider: str) -> tuple[list[str], list[str]]:
    """The origins a page with this provider's widget must allow: (script sources, frame and connect sources)."""
    try:
        scripts, frames = _PAGE_SOURCES[provider]
    except KeyError:
        raise ValueError(f"no CAPTCHA provider {provider!r}; one of {', '.join(_PAGE_SOURCES)}") from None
    return list(scripts), list(frames)


def widget(definition: FormDefinition) -> dict[str, Any] | None:
    """What the form template shows for the form's CAPTCHA: script, container class, site key, action, field."""
    captcha = definition.settings.get("captcha")
    if not captcha:
        return None
    provider = str(captcha["provider"])
    site_key = str(captcha["siteKey"])
    action = captcha.get("action") or (DEFAULT_V3_ACTION if provider == "recaptcha-v3" else None)
    script = _SCRIPTS[provider] + (site_key if provider == "recaptcha-v3" else "")
    return {"provider": provider, "name": PROVIDER_NAMES[provider], "site_key": site_key, "action": action,
            "script": script, "container": _CONTAINERS.get(provider), "field": CAPTCHA_TOKEN_FIELDS[provider][0],
            "invisible": provider == "recaptcha-v3"}


# --- asking the provider -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """A provider's answer about one token, as its siteverify endpoint documents it."""

    success: bool
    error_codes: tuple[str, ...] = ()
    hostname: str | None = None
    action: str | None = None
    score: float | None = None


class VerifierUnavailableError(Exception):
    """The provider gave no usable answer (timeout, refused connection, 5xx, not JSON): the token is unjudged."""


class CaptchaVerifier(Protocol):
    """Asks a provider whether a token is genuine; VerifierUnavailableError when it cannot tell."""

    def verify(self, token: str, secret: str, remote_ip: str | None = None) -> Verdict:
        """The provider's verdict on `token` (spent by asking: tokens are single-use)."""
        ...


class SiteverifyVerifier:
    """One provider's siteverify endpoint over HTTP: a form-encoded POST, a JSON answer (all three document this)."""

    provider = ""

    def __init__(self, url: str, timeout_seconds: float, site_key: str | None = None) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self.site_key = site_key

    def fields(self, token: str, secret: str, remote_ip: str | None) -> dict[str, str]:
        """The POST fields: secret, response and (when known) the visitor's IP."""
        fields = {"secret": secret, "response": token}
        if remote_ip:
            fields["remoteip"] = remote_ip
        return fields

    def verify(self, token: str, secret: str, remote_ip: str | None = None) -> Verdict:
        """POST the token and read the verdict; VerifierUnavailableError for anything but a verdict."""
        import http.client
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self.url, data=urlencode(self.fields(token, secret, remote_ip)).encode("ascii"), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                     "User-Agent": "Formloop"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310 (http(s) only, see config)
                raw = response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            # Turnstile answers a malformed request with 400 and error codes; a 5xx is the provider failing.
            body = exc.read(MAX_ANSWER_BYTES) if exc.code < 500 else b""
            exc.close()
            if not body:
                raise VerifierUnavailableError(f"{self.provider} siteverify answered HTTP {exc.code}") from exc
            raw = body
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
            raise VerifierUnavailableError(f"{self.provider} siteverify unreachable: {exc}") from exc
        return parse_verdict(raw, self.provider)


class TurnstileVerifier(SiteverifyVerifier):
    """Cloudflare Turnstile (challenges.cloudflare.com/turnstile/v0/siteverify)."""

    provider = "turnstile"


class HCaptchaVerifier(SiteverifyVerifier):
    """hCaptcha (api.hcaptcha.com/siteverify); also told the site key, so a token of another site is refused."""

    provider = "hcaptcha"

    def fields(self, token: str, secret: str, remote_ip: str | None) -> dict[str, str]:
        fields = super().fields(token, secret, remote_ip)
        if self.site_key:
            fields["sitekey"] = self.site_key
        return fields


class RecaptchaVerifier(SiteverifyVerifier):
    """Google reCAPTCHA v2 and v3 (www.google.com/recaptcha/api/siteverify); v3 answers a score and an action."""

    provider = "recaptcha"


def parse_verdict(raw: bytes, provider: str = "provider") -> Verdict:
    """A siteverify JSON answer as a Verdict; VerifierUnavailableError when it is not one."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise VerifierUnavailableError(f"{provider} siteverify answered something that is not JSON") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("success"), bool):
        raise VerifierUnavailableError(f"{provider} siteverify answered JSON without a true/false `success`")
    codes = answer.get("error-codes") or []
    score = answer.get("score")
    hostname, action = answer.get("hostname"), answer.get("action")
    return Verdict(
        success=answer["success"],
        error_codes=tuple(str(code) for code in codes) if isinstance(codes, list) else (str(codes),),
        hostname=hostname if isinstance(hostname, str) else None,
        action=action if isinstance(action, str) else None,
        score=float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
    )


def build_verifier(provider: str, settings: CaptchaSettings, site_key: str) -> CaptchaVerifier:
    """The HTTP verifier of one provider, at its configured siteverify URL."""
    kind = {"turnstile": TurnstileVerifier, "hcaptcha": HCaptchaVerifier,
            "recaptcha-v2": RecaptchaVerifier, "recaptcha-v3": RecaptchaVerifier}[provider]
    return kind(settings.verify_url(provider), settings.timeout_ms / 1000, site_key)


# --- what a verdict means for a post -------------------------------------------------------------------------------

# Error codes that mean the visitor's token is no good; any other (a wrong or missing secret, a bad request, the
# provider's internal error) is Formloop's or the provider's problem, which must not cost the visitor the post.
_VISITOR_CODES = {
    "missing-input-response": "missing", "invalid-input-response": "invalid",
    "timeout-or-duplicate": "expired-or-used", "invalid-or-already-seen-response": "expired-or-used",
    "already-seen-response": "expired-or-used", "expired-input-response": "expired-or-used",
}
# Marked for the catalogues: the form shown again words them in the respondent's language.
MESSAGES = {
    "missing": N_("Please complete the human check before sending (if it does not appear, allow this page's "
                  "scripts or try another browser)."),
    "invalid": N_("The human check could not be confirmed; please complete it again and send the form again."),
    "expired-or-used": N_("The human check expired or was already used (if you pressed Send twice, your first "
                          "submission was received); otherwise please complete the check again and resend."),
    "wrong-site": N_("The human check was completed on a site this form does not accept; please send the form "
                     "from its own page."),
    "wrong-action": N_("The human check was made for another form; please complete it again on this form's page."),
    "low-score": N_("We could not confirm that this was sent by a person; please try again in a moment, or "
                    "contact the site's owner another way."),
}


class CaptchaRefusedError(InvalidSubmissionError):
    """The form's CAPTCHA token is missing or not accepted; `reason` says which way, for scripts."""

    TITLE = N_("Human check not passed")

    def __init__(self, reason: str, field: str, *, form_id: str | None = None,
                 values: dict[str, Any] | None = None, language: str | None = None) -> None:
        super().__init__([FieldError(field, MESSAGES[reason], (), MESSAGES[reason])], form_id=form_id,
                         values=values, language=language)
        self.message = MESSAGES[reason]
        self.args = (self.message,)
        self.reason = reason

    def problem(self) -> dict[str, Any]:
        doc = super().problem()
        doc["captcha"] = self.reason
        return doc


@dataclass(frozen=True)
class CaptchaCheck:
    """A post's CAPTCHA outcome: its status (received when verified, held when unjudged) and the write that spends
    the token, to go in the same transaction as the submission."""

    status: str
    admission: CountUse


Refuse = Callable[[str], FormloopError]


class CaptchaGuard:
    """Checks the token of a form's CAPTCHA: once per token, against the form's sites and action."""

    def __init__(self, settings: CaptchaSettings, uses: RateLimitStorage | None = None,
                 verifiers: Mapping[str, CaptchaVerifier] | None = None) -> None:
        self.settings = settings
        self.uses = uses
        self.verifiers = dict(verifiers or {})  # by provider; the HTTP ones are built on first use

    def check(self, definition: FormDefinition, token: str | None, *, hostnames: set[str], remote_ip: str | None,
              now: datetime, replaying: bool, refuse: Refuse) -> CaptchaCheck:
        """Verify `token` for `definition`; raise `refuse(reason)` when the visitor must try again.

        `replaying`: the post carries an idempotency key, so a token Formloop already accepted may be the same
        post sent again, which the store answers with the earlier submission (or refuses, for another post).
        """
        captcha: Mapping[str, Any] = definition.settings["captcha"]
        provider = str(captcha["provider"])
        if not token:
            raise refuse("missing")
        admission = CountUse(token_key(provider, token), 1, now + TOKEN_LIFETIME, refuse("expired-or-used"))
        if self.uses is not None and self.uses.uses(admission.key) > 0:
            if replaying:
                return CaptchaCheck(RECEIVED, admission)
            raise refuse("expired-or-used")
        secret = self.settings.secret(provider, definition.id)
        try:
            verdict = self._verifier(provider, str(captcha["siteKey"])).verify(token, secret, remote_ip)
        except VerifierUnavailableError as exc:
            log.warning("form %s: %s; the post is held for review", definition.id, exc)
            return CaptchaCheck(HELD, admission)
        reason = judge(verdict, captcha, hostnames)
        if reason is None:
            return CaptchaCheck(RECEIVED, admission)
        if reason == "unjudged":
            log.error("form %s: %s siteverify refused Formloop's own request (%s): check the secret key and the "
                      "site key; the post is held for review", definition.id, provider, ", ".join(verdict.error_codes))
            return CaptchaCheck(HELD, admission)
        raise refuse(reason)

    def _verifier(self, provider: str, site_key: str) -> CaptchaVerifier:
        if provider not in self.verifiers:
            self.verifiers[provider] = build_verifier(provider, self.settings, site_key)
        return self.verifiers[provider]


def judge(verdict: Verdict, captcha: Mapping[str, Any], hostnames: set[str]) -> str | None:
    """None if the verdict passes the form's checks; else the reason to refuse, or "unjudged" (not the visitor's
    fault: the provider refused Formloop's request itself)."""
    if not verdict.success:
        reasons = [_VISITOR_CODES.get(code) for code in verdict.error_codes]
        if any(reason is None for reason in reasons):
            return "unjudged"
        return reasons[0] if reasons else "invalid"
    if (verdict.hostname or "").lower() not in hostnames:
        return "wrong-site"
    provider = captcha["provider"]
    action = captcha.get("action") or (DEFAULT_V3_ACTION if provider == "recaptcha-v3" else None)
    if action and verdict.action != action:
        return "wrong-action"
    if provider == "recaptcha-v3":
        if verdict.score is None or verdict.score < float(captcha.get("minScore", DEFAULT_MIN_SCORE)):
            return "low-score"
    return None


def token_key(provider: str, token: str) -> str:
    """The counter key that spends a token once (hashed: a stored key must not be a usable token)."""
    return f"captcha#{provider}#{hashlib.sha256(token.encode('utf-8')).hexdigest()[:48]}"


def allowed_hostnames(definition: FormDefinition, host: str | None) -> set[str]:
    """Where the widget may have run: the form's allowed origins, and Formloop's own host (the hosted page)."""
    from urllib.parse import urlsplit
    names = set()
    for site in [*definition.allowed_origins, *([f"//{host}"] if host else [])]:
        try:
            hostname = urlsplit(site).hostname
        except ValueError:  # a Host header that is no host at all
            continue
        if hostname:
            names.add(hostname.lower())
    return names
