"""What the delivery service needs from a delivery store (DynamoDB, or the in-memory one of the unit tests)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.mail.records import Delivery, Due


class DeliveryStore(Protocol):
    """Creates, claims and settles delivery records, each change conditional on the state it expects.

    Methods raise StoreUnavailableError when the database cannot be reached, and `ensure` raises
    ConditionFailedError when the record was deleted (an erasure) between its write and its read.
    """

    def ensure(self, form: str, submission_id: str, kind: str, recipients: list[str], now: datetime) -> Delivery:
        """The delivery record, created as pending unless it already exists (then returned as stored)."""
        ...

    def claim(self, delivery: Delivery, now: datetime, lease_seconds: int) -> Delivery | None:
        """Take a pending delivery for one attempt; None if it is settled or another worker holds it."""
        ...

    def settle(self, delivery: Delivery, status: str, now: datetime, *, error: str | None = None,
               message_id: str | None = None, backend: str | None = None) -> None:
        """Record the outcome of an attempt (sent, failed, skipped, or pending again); leaves the waiting list."""
        ...

    def reopen(self, delivery: Delivery, now: datetime, note: str) -> bool:
        """Make a failed or skipped email pending again for a new attempt (a resend), its retry window starting
        now; False if it is no longer failed or skipped."""
        ...

    def postpone(self, delivery: Delivery, now: datetime, retry_at: datetime, error: str) -> None:
        """Leave a pending email for a later round at `retry_at` (nobody claims it before then)."""
        ...

    def due(self, now: datetime, limit: int) -> list[Due]:
        """The emails whose later round is due, oldest first."""
        ...

    def forget(self, due: Due) -> None:
        """Drop a waiting entry whose email was settled, moved to another time or deleted meanwhile."""
        ...

    def get(self, form: str, submission_id: str, kind: str) -> Delivery | None:
        """One delivery record, or None."""
        ...

    def for_submission(self, form: str, submission_id: str) -> list[Delivery]:
        """Every delivery record of a submission."""
        ...

    def delete_for(self, form: str, submission_id: str) -> int:
        """Delete every delivery record of a submission (and its place on the waiting list); how many."""
        ...

    def take_daily_slot(self, form: str, address: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the mailbox's daily allowance (addresses compared by `normalise_address`);
        False once `limit` others have it."""
        ...

    def take_hourly_slot(self, form: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the form's allowance for the UTC hour; False once `limit` others have it."""
        ...

    def mark_outcome(self, form: str, submission_id: str, kind: str, status: str, detail: str,
                     now: datetime) -> bool:
        """Record what happened after sending (bounced, complained); False if there is no such record."""
        ...
