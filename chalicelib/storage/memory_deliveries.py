"""Delivery records held in memory: the same behaviour as the DynamoDB store, for unit tests and local tools.

Each change checks the state it expects under one lock, as the DynamoDB store's conditional writes do: two
workers cannot both claim an email, a settled email is not settled again, a lease keeps others off.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.core.addresses import address_digest
from chalicelib.core.errors import ConditionFailedError
from chalicelib.mail.records import FAILED, PENDING, SKIPPED, Delivery, Due, hour_of


@dataclass
class _Record:
    delivery: Delivery
    lease_until: int = 0  # epoch second before which nobody claims the email
    backend: str | None = None


def _copy(delivery: Delivery) -> Delivery:
    return replace(delivery, recipients=list(delivery.recipients))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class MemoryDeliveryStore:
    """Delivery records, the waiting list and the per-address and per-form guards in dictionaries, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._records: dict[tuple[str, str, str], _Record] = {}  # (form, submission id, kind) -> record
        self._waiting: set[tuple[int, str, str, str]] = set()  # (due, form, submission id, kind)
        self._daily: dict[str, set[str]] = {}  # "<form>#<address hash>#<day>" or "<form>#hour#<hour>" -> keys counted

    def ensure(self, form: str, submission_id: str, kind: str, recipients: list[str], now: datetime) -> Delivery:
        """The delivery record, created as pending unless it already exists (then returned as stored)."""
        with self._lock:
            record = self._records.setdefault((form, submission_id, kind), _Record(Delivery(
                form=form, submission_id=submission_id, kind=kind, status=PENDING, recipients=list(recipients),
                created_at=now)))
            return _copy(record.delivery)

    def claim(self, delivery: Delivery, now: datetime, lease_seconds: int) -> Delivery | None:
        """Take a pending delivery for one attempt; None if it is settled or another worker holds it."""
        with self._lock:
            record = self._records.get((delivery.form, delivery.submission_id, delivery.kind))
            if record is None or record.delivery.status != PENDING or record.lease_until >= _epoch(now):
                return None
            record.delivery.attempts += 1
            record.lease_until = _epoch(now) + lease_seconds
            return _copy(record.delivery)

    def settle(self, delivery: Delivery, status: str, now: datetime, *, error: str | None = None,
               message_id: str | None = None, backend: str | None = None) -> None:
        """Record the outcome of an attempt; a settled email leaves the waiting list at the same time."""
        with self._lock:
            record = self._pending(delivery)
            stored = record.delivery
            stored.status = status
            record.lease_until = 0
            if error is not None:
                stored.last_error = error[:1000]
            if message_id is not None:
                stored.message_id = message_id
            if backend is not None:
                record.backend = backend
            if status == PENDING or delivery.retry_at is None:
                return
            stored.retry_at = None
            self._waiting.discard((delivery.retry_at, delivery.form, delivery.submission_id, delivery.kind))
            delivery.retry_at = None

    def reopen(self, delivery: Delivery, now: datetime, note: str) -> bool:
        """Make a failed or skipped email pending again, its retry window starting now; False if it is not."""
        with self._lock:
            record = self._records.get((delivery.form, delivery.submission_id, delivery.kind))
            if record is None or record.delivery.status not in (FAILED, SKIPPED):
                return False
            record.delivery.status, record.delivery.created_at = PENDING, now
            record.delivery.last_error, record.lease_until = note[:1000], 0
            return True

    def postpone(self, delivery: Delivery, now: datetime, retry_at: datetime, error: str) -> None:
        """Leave a pending email for a later round at `retry_at` (nobody claims it before then)."""
        due = _epoch(retry_at)
        with self._lock:
            record = self._pending(delivery)
            record.lease_until = due
            record.delivery.retry_at = due
            record.delivery.last_error = error[:1000]
            if delivery.retry_at is not None and delivery.retry_at != due:
                self._waiting.discard((delivery.retry_at, delivery.form, delivery.submission_id, delivery.kind))
            self._waiting.add((due, delivery.form, delivery.submission_id, delivery.kind))
        delivery.retry_at = due
        delivery.last_error = error

    def _pending(self, delivery: Delivery) -> _Record:
        record = self._records.get((delivery.form, delivery.submission_id, delivery.kind))
        if record is None or record.delivery.status != PENDING:
            raise ConditionFailedError(f"delivery {delivery.key}/{delivery.kind} is no longer pending")
        return record

    def due(self, now: datetime, limit: int) -> list[Due]:
        """The emails whose later round is due, oldest first."""
        with self._lock:
            # Ordered as DynamoDB orders the waiting list's sort key: due time, form, submission, kind.
            found = sorted(entry for entry in self._waiting if entry[0] <= _epoch(now))[:limit]
        return [Due(form, submission_id, kind, due) for due, form, submission_id, kind in found]

    def forget(self, due: Due) -> None:
        """Drop a waiting entry whose email was settled, moved to another time or deleted meanwhile."""
        with self._lock:
            self._waiting.discard((due.due, due.form, due.submission_id, due.kind))

    def get(self, form: str, submission_id: str, kind: str) -> Delivery | None:
        """One delivery record, or None."""
        with self._lock:
            record = self._records.get((form, submission_id, kind))
            return _copy(record.delivery) if record else None

    def mark_outcome(self, form: str, submission_id: str, kind: str, status: str, detail: str,
                     now: datetime) -> bool:
        """Record what happened after sending (bounced, complained); False if there is no such record."""
        with self._lock:
            record = self._records.get((form, submission_id, kind))
            if record is not None:
                record.delivery.status, record.delivery.last_error = status, detail[:1000]
            return record is not None

    def for_submission(self, form: str, submission_id: str) -> list[Delivery]:
        """Every delivery record of a submission, by kind."""
        with self._lock:
            return [_copy(record.delivery) for (f, s, _), record in sorted(self._records.items())
                    if (f, s) == (form, submission_id)]

    def delete_for(self, form: str, submission_id: str) -> int:
        """Delete every delivery record of a submission (and its place on the waiting list); how many."""
        with self._lock:
            deliveries = self.for_submission(form, submission_id)
            for delivery in deliveries:
                if delivery.retry_at is not None:
                    self._waiting.discard((delivery.retry_at, form, submission_id, delivery.kind))
                del self._records[(form, submission_id, delivery.kind)]
            return len(deliveries)

    def take_daily_slot(self, form: str, address: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the mailbox's daily allowance; False once `limit` others have it.

        Spellings of one mailbox (case, `+tags`, Gmail's dots and domains) share one allowance. Asking again
        for a delivery already counted is a yes (retries and redelivered records).
        """
        digest = address_digest(address)
        return self._take(f"{form}#{digest}#{now.date().isoformat()}", delivery_key, limit)

    def take_hourly_slot(self, form: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the form's allowance for the UTC hour; False once `limit` others have it."""
        return self._take(f"{form}#hour#{hour_of(now)}", delivery_key, limit)

    def _take(self, key: str, delivery_key: str, limit: int) -> bool:
        if limit <= 0:
            return False
        with self._lock:
            counted = self._daily.setdefault(key, set())
            if delivery_key not in counted and len(counted) >= limit:
                return False
            counted.add(delivery_key)
            return True
