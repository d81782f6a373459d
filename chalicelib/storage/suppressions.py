"""The suppression list: addresses that bounced for good or complained, kept only as a SHA-256 of the mailbox."""
from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError
from chalicelib.mail.bounces import suppression_key

from .base import bind_model


class SuppressionRecord(Model):
    """One suppressed mailbox: why, and since when."""

    class Meta:
        table_name = "unbound-suppressions"

    key = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    since = UTCDateTimeAttribute()


class SuppressionStore:
    """The suppression list in DynamoDB: one put per event, one consistent read per acknowledgement."""

    def __init__(self, settings: Settings) -> None:
        self.records: type[SuppressionRecord] = bind_model(SuppressionRecord, settings, "suppressions")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.records]

    def suppress(self, address: str, reason: str, now: datetime) -> None:
        """Put an address on the list (again: the newest reason wins)."""
        try:
            self.records(suppression_key(address), reason=reason[:500], since=now).save()
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"suppressions table unreachable: {exc}") from exc

    def is_suppressed(self, address: str) -> bool:
        """Whether an address is on the list."""
        try:
            self.records.get(suppression_key(address), consistent_read=True)
        except DoesNotExist:
            return False
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"suppressions table unreachable: {exc}") from exc
        return True
