"""Fixed-window counters for rate limits: the window is in the key, TTL cleans up, and each use is written
in the same transaction as the submission it admits."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import FormloopError

from .base import Admission, bind_model


class RateCounterRecord(Model):
    """How many times one key was used in one window."""

    class Meta:
        table_name = "unbound-rate-limits"

    key = UnicodeAttribute(hash_key=True)
    uses = NumberAttribute(default=0, attr_name="count")  # not `count`: Model.count is a query
    expires_at = TTLAttribute()


class RateLimitStore:
    """Counts uses per key and window with one conditional update, never read-then-write."""

    def __init__(self, settings: Settings) -> None:
        self.counters: type[RateCounterRecord] = bind_model(RateCounterRecord, settings, "rate-limits")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.counters]


    def increment(self, key: str, limit: int, window_end: datetime, refusal: FormloopError) -> Admission:
        """The conditional counter update for `key`, to be written together with a submission."""
        return Admission(
            record=self.counters(key),
            actions=[self.counters.uses.add(1), self.counters.expires_at.set(window_end + timedelta(hours=1))],
            condition=self.counters.uses.does_not_exist() | (self.counters.uses < limit),
            refusal=refusal,
        )


def hour_window(now: datetime) -> tuple[str, datetime]:
    """The current hour's label and the moment it ends."""
    start = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y%m%d%H"), start + timedelta(hours=1)
