"""Fixed-window counters for rate limits: the window is in the key, TTL cleans up, and each use is written
in the same transaction as the submission it admits."""
from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError
from chalicelib.intake.admission import CountUse

from .base import ConditionalWrite, bind_model

# DynamoDB's TTL sweep runs late and clocks differ: a counter outlives its window by this much, never less.
TTL_MARGIN = timedelta(hours=1)


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

    def count_use(self, intent: CountUse) -> ConditionalWrite:
        """The conditional counter update for one use, to be written together with a submission."""
        c = self.counters
        return ConditionalWrite(record=c(intent.key),
                                actions=[c.uses.add(1), c.expires_at.set(intent.window_ends + TTL_MARGIN)],
                                condition=c.uses.does_not_exist() | (c.uses < intent.limit))

    def uses(self, key: str) -> int:
        """How many uses of `key` were counted (0 if none)."""
        try:
            return int(self.counters.get(key, consistent_read=True).uses or 0)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"rate-limit counter {key!r} could not be read") from exc
