"""Spam defences beyond the honeypot: a per-client hourly limit per form."""
from __future__ import annotations

import math
from datetime import datetime

from .errors import RateLimitedError
from .forms import FormDefinition
from .storage.limits import RateLimitStore, hour_window


class RateLimiter:
    """Enforces a form's `x-form.spam.perIpPerHour` with one conditional counter update per post."""

    def __init__(self, store: RateLimitStore) -> None:
        self.store = store

    def check(self, definition: FormDefinition, ip_hash: str | None, now: datetime) -> None:
        """Raise RateLimitedError (429 + Retry-After) once a client reached the form's hourly limit."""
        limit = definition.settings.get("spam", {}).get("perIpPerHour")
        if not limit or not ip_hash:
            return
        window, window_end = hour_window(now)
        if not self.store.hit(f"{definition.id}#{ip_hash}#{window}", int(limit), window_end):
            retry_after = max(1, math.ceil((window_end - now).total_seconds()))
            raise RateLimitedError(
                f"Too many submissions from your network to this form in the last hour; "
                f"please try again in {math.ceil(retry_after / 60)} minutes.", retry_after=retry_after)
