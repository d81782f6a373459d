"""Fixed-window counters for rate limits: the window is in the key, TTL cleans up, and each use is written
in the same transaction as the submission it admits."""
from __future__ import annotations

import functools
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError

if TYPE_CHECKING:
    from chalicelib.intake.admission import CountUse

    from .admission_records import RateCounterRecord
    from .base import ConditionalWrite

# DynamoDB's TTL sweep runs late and clocks differ: a counter outlives its window by this much, never less.
TTL_MARGIN = timedelta(hours=1)


class RateLimitStore:
    """Counts uses per key and window with one conditional update, never read-then-write."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def counters(self) -> type[RateCounterRecord]:
        """The counters' model bound to this deployment's table (PynamoDB is imported on first need)."""
        from .admission_records import RateCounterRecord
        from .base import bind_model
        return bind_model(RateCounterRecord, self.settings, "rate-limits")  # type: ignore[return-value]

    @property
    def models(self) -> list[type[Any]]:
        return [self.counters]

    def count_use(self, intent: CountUse) -> ConditionalWrite:
        """The conditional counter update for one use, to be written together with a submission."""
        from .base import ConditionalWrite
        c = self.counters
        return ConditionalWrite(record=c(intent.key),
                                actions=[c.uses.add(1), c.expires_at.set(intent.window_ends + TTL_MARGIN)],
                                condition=c.uses.does_not_exist() | (c.uses < intent.limit))

    def uses(self, key: str) -> int:
        """How many uses of `key` were counted (0 if none)."""
        from pynamodb.exceptions import DoesNotExist, PynamoDBException
        try:
            return int(self.counters.get(key, consistent_read=True).uses or 0)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"rate-limit counter {key!r} could not be read") from exc
