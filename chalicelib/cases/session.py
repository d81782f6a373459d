"""Dashboard sessions: a signed, expiring cookie naming who signed in; CSRF tokens bound to it; a throttle on
wrong keys per client (by the hash of its IP address, as the spam limits count)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.cases.store import CaseStore
from chalicelib.core.errors import FormloopError, RateLimitedError, StorageUnavailableError, StoreUnavailableError

SESSION_COOKIE = "formloop_session"
# Set by the sign-in page, so its form carries a CSRF token too (a forged sign-in would attribute to another key).
SIGN_IN_COOKIE = "formloop_sign_in"
SESSION_HOURS = 8
SIGN_IN_MINUTES = 30
WRONG_KEYS_PER_HOUR = 10


class CsrfError(FormloopError):
    """A dashboard form came without the token of the session that showed it (forged, or from an old page)."""

    STATUS_CODE = 403
    TITLE = "This form has expired"


@dataclass(frozen=True)
class Session:
    """Who signed in, until when, and the nonce their CSRF tokens are made from."""

    who: str
    expires: int
    nonce: str


def _same(presented: str, expected: str) -> bool:
    """Constant-time equality of a presented signature and the expected one, whatever characters it holds."""
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def _sign(secret: str, purpose: str, payload: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}\0{payload}".encode(), hashlib.sha256).hexdigest()


def _encode(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(text: str) -> object:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def issue(secret: str, who: str, now: datetime) -> tuple[str, Session]:
    """A new session's cookie value (payload.signature) and the session."""
    session = Session(who, int((now + timedelta(hours=SESSION_HOURS)).timestamp()), secrets.token_urlsafe(16))
    payload = _encode({"w": session.who, "e": session.expires, "n": session.nonce})
    return f"{payload}.{_sign(secret, 'session', payload)}", session


def read(secret: str, value: str | None, now: datetime) -> Session | None:
    """The session a cookie value carries; None when it is absent, forged, malformed or expired."""
    if not value or len(value) > 1024 or "." not in value:
        return None
    payload, _, signature = value.rpartition(".")
    if not _same(signature, _sign(secret, "session", payload)):
        return None
    try:
        data = _decode(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("w"), str) or not isinstance(data.get("e"), int) \
            or not isinstance(data.get("n"), str):
        return None
    if data["e"] <= now.timestamp():
        return None
    return Session(data["w"], data["e"], data["n"])


def csrf_token(secret: str, nonce: str) -> str:
    """The CSRF token of every form a session (or a sign-in page, by its own nonce) shows."""
    return _sign(secret, "csrf", nonce)


def check_csrf(secret: str, nonce: str | None, token: str) -> None:
    """Return if `token` belongs to `nonce`; CsrfError (403) otherwise."""
    if not nonce or not token or not _same(token, csrf_token(secret, nonce)):
        raise CsrfError("This form did not come from your current dashboard page (it may be old, or another site "
                        "sent it). Go back, reload the page and try again.")


def cookie(name: str, value: str, *, secure: bool, max_age: int) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, for the dashboard's path, Secure outside the local stage."""
    flags = [f"{name}={value}", "Path=/admin", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        flags.append("Secure")
    return "; ".join(flags)


def cookies(header: str | None) -> dict[str, str]:
    """The cookies of a Cookie header, by name (the first of a repeated name)."""
    found: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value
    return found


class SignInThrottle:
    """At most WRONG_KEYS_PER_HOUR wrong keys per client per UTC hour; then refused until the hour ends."""

    def __init__(self, store: CaseStore, limit: int = WRONG_KEYS_PER_HOUR) -> None:
        self.store = store
        self.limit = limit

    @staticmethod
    def _window(now: datetime) -> tuple[str, datetime]:
        start = now.replace(minute=0, second=0, microsecond=0)
        return start.strftime("%Y%m%d%H"), start + timedelta(hours=1)

    def check(self, client: str, now: datetime) -> None:
        """Return if the client may try a key; RateLimitedError (429) once it spent its wrong keys this hour."""
        label, ends = self._window(now)
        if self._counted(lambda: self.store.attempts(f"sign-in#{client}#{label}")) >= self.limit:
            retry_after = max(1, math.ceil((ends - now).total_seconds()))
            raise RateLimitedError(f"Too many wrong admin keys from your network; try again in "
                                   f"{math.ceil(retry_after / 60)} minutes.", retry_after=retry_after)

    def wrong_key(self, client: str, now: datetime) -> None:
        """Count one wrong key of this client."""
        label, ends = self._window(now)
        self._counted(lambda: self.store.count_attempt(f"sign-in#{client}#{label}", ends))

    @staticmethod
    def _counted(count: Callable[[], int]) -> int:
        try:
            return count()
        except StoreUnavailableError as exc:  # fail closed: no key is tried while wrong ones cannot be counted
            raise StorageUnavailableError("Sign-in is unavailable for a moment; please try again in a minute.") \
                from exc
