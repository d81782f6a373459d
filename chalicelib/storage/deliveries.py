"""Delivery records (one per email of a submission) and the per-address daily acknowledgement guard.

Every state change is one conditional write, never read-then-write: two workers handed the
same stream record cannot both send, and a repeated record finds the email already sent.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from ..config import Settings
from .base import bind_model, create_tables, error_code

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
DELIVERY_RETENTION = timedelta(days=400)


class DeliveryRecord(Model):
    """One email owed for one submission: its status, attempts and last error."""

    class Meta:
        table_name = "unbound-deliveries"

    submission = UnicodeAttribute(hash_key=True)  # "<form>#<submission id>"
    kind = UnicodeAttribute(range_key=True)  # acknowledgement | notification | gift ...
    status = UnicodeAttribute()
    recipients = ListAttribute[str](default=list)
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    backend = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # While a worker sends, others keep off until this epoch second (a crashed worker's claim lapses).
    lease_until = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class AddressDayRecord(Model):
    """The acknowledgements one address was sent by one form on one day (the address is hashed)."""

    class Meta:
        table_name = "unbound-ack-guard"

    key = UnicodeAttribute(hash_key=True)  # "<form>#<sha256 of the address>#<YYYY-MM-DD>"
    deliveries = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute()


@dataclass
class Delivery:
    """A delivery record as the delivery service sees it."""

    form: str
    submission_id: str
    kind: str
    status: str
    recipients: list[str]
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.form}#{self.submission_id}"


def _key(form: str, submission_id: str) -> str:
    return f"{form}#{submission_id}"


class DeliveryStore:
    """Creates, claims and settles delivery records with conditional writes."""

    def __init__(self, settings: Settings) -> None:
        self.deliveries: type[DeliveryRecord] = bind_model(DeliveryRecord, settings, "deliveries")  # type: ignore[assignment]
        self.guard: type[AddressDayRecord] = bind_model(AddressDayRecord, settings, "ack-guard")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.deliveries, self.guard]

    def create_tables(self) -> None:
        """Create the tables (and TTL) if they do not exist; safe to call again."""
        create_tables(self.models)

    def ensure(self, form: str, submission_id: str, kind: str, recipients: list[str], now: datetime) -> Delivery:
        """The delivery record, created as pending unless it already exists (then returned as stored)."""
        record = self.deliveries(_key(form, submission_id), kind, status=PENDING, recipients=recipients,
                                 attempts=0, created_at=now, updated_at=now, lease_until=0,
                                 expires_at=now + DELIVERY_RETENTION)
        try:
            record.save(condition=self.deliveries.submission.does_not_exist())
        except PutError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            found = self.get(form, submission_id, kind)
            if found is None:  # deleted in between (an erasure): nothing is owed any more
                raise
            return found
        return self._delivery(record)

    def claim(self, delivery: Delivery, now: datetime, lease_seconds: int) -> Delivery | None:
        """Take a pending delivery for one attempt; None if it is settled or another worker holds it."""
        record = self.deliveries(delivery.key, delivery.kind)
        epoch = int(now.timestamp())
        try:
            record.update(
                actions=[self.deliveries.attempts.add(1), self.deliveries.lease_until.set(epoch + lease_seconds),
                         self.deliveries.updated_at.set(now)],
                condition=(self.deliveries.status == PENDING) & (self.deliveries.lease_until < epoch))
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return self._delivery(record)

    def settle(self, delivery: Delivery, status: str, now: datetime, *, error: str | None = None,
               message_id: str | None = None, backend: str | None = None) -> None:
        """Record the outcome of an attempt: sent, failed, skipped, or back to pending (a retry)."""
        actions: list[Action] = [self.deliveries.status.set(status), self.deliveries.updated_at.set(now),
                   self.deliveries.lease_until.set(0)]
        if error is not None:
            actions.append(self.deliveries.last_error.set(error[:1000]))
        if message_id is not None:
            actions.append(self.deliveries.message_id.set(message_id))
        if backend is not None:
            actions.append(self.deliveries.backend.set(backend))
        self.deliveries(delivery.key, delivery.kind).update(
            actions=actions, condition=self.deliveries.status == PENDING)

    def get(self, form: str, submission_id: str, kind: str) -> Delivery | None:
        """One delivery record, or None."""
        try:
            return self._delivery(self.deliveries.get(_key(form, submission_id), kind, consistent_read=True))
        except DoesNotExist:
            return None

    def for_submission(self, form: str, submission_id: str) -> list[Delivery]:
        """Every delivery record of a submission."""
        return [self._delivery(r) for r in self.deliveries.query(_key(form, submission_id), consistent_read=True)]

    def take_daily_slot(self, form: str, address: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the address's daily allowance; False once `limit` others have it.

        One conditional update: the set of deliveries grows only while smaller than the limit, and
        asking again for a delivery already counted is a yes (retries and redelivered records).
        """
        if limit <= 0:
            return False
        digest = hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()
        record = self.guard(f"{form}#{digest}#{now.date().isoformat()}")
        try:
            record.update(
                actions=[self.guard.deliveries.add({delivery_key}),
                         self.guard.expires_at.set(now + timedelta(days=2))],
                condition=(self.guard.deliveries.does_not_exist() | (size(self.guard.deliveries) < limit)
                           | self.guard.deliveries.contains(delivery_key)))
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @staticmethod
    def _delivery(record: DeliveryRecord) -> Delivery:
        form, _, submission_id = record.submission.partition("#")
        return Delivery(form=form, submission_id=submission_id, kind=record.kind, status=record.status,
                        recipients=list(record.recipients or []), attempts=int(record.attempts or 0),
                        last_error=record.last_error, message_id=record.message_id)
