"""Fixed-window counters for rate limits: the window is in the key, TTL cleans up."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.models import Model

from ..config import Settings
from ..errors import StorageUnavailableError
from .base import bind_model, create_tables, error_code


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

    def create_tables(self) -> None:
        """Create the counters table if needed."""
        create_tables(self.models)

    def hit(self, key: str, limit: int, window_end: datetime) -> bool:
        """Count one use of `key` in the window ending at `window_end`; False once `limit` is reached."""
        record = self.counters(key)
        try:
            record.update(
                actions=[self.counters.uses.add(1),
                         self.counters.expires_at.set(window_end + timedelta(hours=1))],
                condition=self.counters.uses.does_not_exist() | (self.counters.uses < limit),
            )
            return True
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise StorageUnavailableError("Your submission could not be saved just now and nothing was stored; "
                                          "please send it again in a few seconds.") from exc
        except PynamoDBException as exc:
            raise StorageUnavailableError("Your submission could not be saved just now and nothing was stored; "
                                          "please send it again in a few seconds.") from exc


def hour_window(now: datetime) -> tuple[str, datetime]:
    """The current hour's label and the moment it ends."""
    start = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y%m%d%H"), start + timedelta(hours=1)
