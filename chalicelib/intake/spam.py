"""Spam defences beyond the honeypot: a per-client hourly limit per form, and a time trap for its own page."""
from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from chalicelib.core.errors import RateLimitedError
from chalicelib.forms.definitions import FormDefinition
from chalicelib.intake.ports import RateLimitStorage

if TYPE_CHECKING:
    from chalicelib.intake.admission import CountUse


class RateLimiter:
    """Enforces a form's `x-form.spam.perIpPerHour`: one counted use, admitted inside the submission's write."""

    def __init__(self, store: RateLimitStorage) -> None:
        self.store = store

    def reserve(self, definition: FormDefinition, ip_hash: str | None, now: datetime) -> CountUse | None:
        """The use that admits one more post from this client this hour, written with the submission itself."""
        limit = definition.settings.get("spam", {}).get("perIpPerHour")
        if not limit or not ip_hash:
            return None
        from chalicelib.intake.admission import CountUse  # only a limited form's post loads the admissions
        window, window_end = hour_window(now)
        return CountUse(_key(definition, ip_hash, window), int(limit), window_end, _refusal(now, window_end))

    def used(self, definition: FormDefinition, ip_hash: str, now: datetime) -> int:
        """How many posts from this client this hour were counted."""
        return self.store.uses(_key(definition, ip_hash, hour_window(now)[0]))


def _key(definition: FormDefinition, ip_hash: str, window: str) -> str:
    return f"{definition.id}#{ip_hash}#{window}"


def hour_window(now: datetime) -> tuple[str, datetime]:
    """The current hour's label and the moment it ends."""
    start = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y%m%d%H"), start + timedelta(hours=1)


def _refusal(now: datetime, window_end: datetime) -> RateLimitedError:
    retry_after = max(1, math.ceil((window_end - now).total_seconds()))
    return RateLimitedError(f"Too many submissions from your network to this form in the last hour; "
                            f"please try again in {math.ceil(retry_after / 60)} minutes.", retry_after=retry_after)


def page_token(secret: str, now: datetime) -> str:
    """The `_ts` hidden field of a rendered form: when the page was served, signed so bots cannot forge it."""
    stamp = str(int(now.timestamp()))
    return f"{stamp}.{_signature(secret, stamp)}"


def posted_too_fast(definition: FormDefinition, token: str | None, secret: str, now: datetime) -> bool:
    """Whether a post came back sooner than the form's `x-form.spam.minSeconds` after its page was served.

    Only posts carrying the `_ts` of Formloop's own page can be timed; a forged or malformed one counts as too fast.
    """
    min_seconds = definition.settings.get("spam", {}).get("minSeconds")
    if not min_seconds or not token:
        return False
    stamp, _, signature = token.partition(".")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12 \
            or not hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), _signature(secret, stamp).encode()):
        return True
    return now.timestamp() - int(stamp) < int(min_seconds)


def _signature(secret: str, stamp: str) -> str:
    return hmac.new(secret.encode("utf-8"), f"formloop-page:{stamp}".encode(), hashlib.sha256).hexdigest()[:32]
