"""Delivery records (one per email of a submission) and the acknowledgement guards (mailbox/day, form/hour).

Every state change is one conditional write, never read-then-write: two workers handed the
same stream record cannot both send, and a repeated record finds the email already sent.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.addresses import address_digest
from chalicelib.core.config import Settings
from chalicelib.core.errors import ConditionFailedError
from chalicelib.mail.records import FAILED, PENDING, SKIPPED, Delivery, Due, hour_of

from .base import bind_model, connection_for, error_code, store_errors

DELIVERY_RETENTION = timedelta(days=400)
# The partition of the deliveries table that lists emails waiting for a later round, sorted by when it is due.
WAITING = "~waiting"


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
    # While a worker sends, others keep off until this epoch second (a crashed worker's claim lapses); while an
    # email waits for a later attempt, until that attempt is due.
    lease_until = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)
    # Set while the email waits for a later round (the mail provider kept failing), with a WaitingRecord.
    retry_at = NumberAttribute(null=True)


class WaitingRecord(Model):
    """An email waiting for a later round: one item in the deliveries table's WAITING partition.

    Kept there until the email is settled (also through its later rounds), so a round that dies midway
    is found again. The sort key starts with the due time, so one Query finds what is due, oldest first.
    """

    class Meta:
        table_name = "unbound-deliveries"

    submission = UnicodeAttribute(hash_key=True)  # always WAITING
    kind = UnicodeAttribute(range_key=True)  # "<due epoch second, 12 digits>#<form>#<submission id>#<kind>"
    expires_at = TTLAttribute(null=True)


def _waiting_key(due: int, form: str, submission_id: str, kind: str) -> str:
    return f"{due:012d}#{form}#{submission_id}#{kind}"


class AddressDayRecord(Model):
    """The acknowledgements one mailbox was sent by one form on one day (the address is hashed), or that one
    form sent in one UTC hour."""

    class Meta:
        table_name = "unbound-ack-guard"

    key = UnicodeAttribute(hash_key=True)  # "<form>#<sha256 of the mailbox>#<YYYY-MM-DD>" or "<form>#hour#<hour>"
    deliveries = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute()


def _key(form: str, submission_id: str) -> str:
    return f"{form}#{submission_id}"


_reaching_table = functools.partial(store_errors, "delivery record", "deliveries table")

class DeliveryStore:
    """Creates, claims and settles delivery records with conditional writes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deliveries: type[DeliveryRecord] = bind_model(DeliveryRecord, settings, "deliveries")  # type: ignore[assignment]
        # The same table: created with DeliveryRecord, so not in `models`.
        self.waiting: type[WaitingRecord] = bind_model(WaitingRecord, settings, "deliveries")  # type: ignore[assignment]
        self.guard: type[AddressDayRecord] = bind_model(AddressDayRecord, settings, "ack-guard")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.deliveries, self.guard]


    @_reaching_table()
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
                raise ConditionFailedError(f"delivery {form}/{submission_id}/{kind} deleted meanwhile") from exc
            return found
        return self._delivery(record)

    @_reaching_table()
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

    @_reaching_table()
    def settle(self, delivery: Delivery, status: str, now: datetime, *, error: str | None = None,
               message_id: str | None = None, backend: str | None = None) -> None:
        """Record the outcome of an attempt: sent, failed, skipped, or back to pending (a retry in this round).

        A settled email that was waiting for later rounds leaves the waiting list in the same transaction.
        """
        d = self.deliveries
        actions: list[Action] = [d.status.set(status), d.updated_at.set(now), d.lease_until.set(0)]
        if error is not None:
            actions.append(d.last_error.set(error[:1000]))
        if message_id is not None:
            actions.append(d.message_id.set(message_id))
        if backend is not None:
            actions.append(d.backend.set(backend))
        record = d(delivery.key, delivery.kind)
        if status == PENDING or delivery.retry_at is None:
            record.update(actions=actions, condition=d.status == PENDING)
            return
        with TransactWrite(connection=self._connection()) as transaction:
            transaction.update(record, actions=[*actions, d.retry_at.remove()], condition=d.status == PENDING)
            transaction.delete(self._waiting(delivery, delivery.retry_at))
        delivery.retry_at = None

    @_reaching_table()
    def postpone(self, delivery: Delivery, now: datetime, retry_at: datetime, error: str) -> None:
        """Leave a pending email for a later round at `retry_at` (nobody claims it before then)."""
        d = self.deliveries
        due = int(retry_at.timestamp())
        with TransactWrite(connection=self._connection()) as transaction:
            transaction.update(d(delivery.key, delivery.kind), condition=d.status == PENDING, actions=[
                d.updated_at.set(now), d.lease_until.set(due), d.retry_at.set(due), d.last_error.set(error[:1000])])
            if delivery.retry_at is not None and delivery.retry_at != due:
                transaction.delete(self._waiting(delivery, delivery.retry_at))
            waiting = self._waiting(delivery, due)
            waiting.expires_at = retry_at + DELIVERY_RETENTION
            transaction.save(waiting)
        delivery.retry_at = due
        delivery.last_error = error

    @_reaching_table()
    def reopen(self, delivery: Delivery, now: datetime, note: str) -> bool:
        """Make a failed or skipped email pending again, its retry window starting now; False if it is not."""
        d = self.deliveries
        try:
            d(delivery.key, delivery.kind).update(
                actions=[d.status.set(PENDING), d.created_at.set(now), d.updated_at.set(now), d.lease_until.set(0),
                         d.last_error.set(note[:1000])],
                condition=d.status.is_in(FAILED, SKIPPED))
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @_reaching_table()
    def due(self, now: datetime, limit: int) -> list[Due]:
        """The emails whose later round is due, oldest first (one strongly consistent Query)."""
        found = []
        for item in self.waiting.query(WAITING, self.waiting.kind < f"{int(now.timestamp()) + 1:012d}",
                                       limit=limit, consistent_read=True):
            due, form, submission_id, kind = item.kind.split("#", 3)
            found.append(Due(form, submission_id, kind, int(due)))
        return found

    @_reaching_table()
    def forget(self, due: Due) -> None:
        """Drop a waiting item whose email was settled, moved to another time or deleted meanwhile."""
        self.waiting(WAITING, _waiting_key(due.due, due.form, due.submission_id, due.kind)).delete()

    def _waiting(self, delivery: Delivery, due: int) -> WaitingRecord:
        return self.waiting(WAITING, _waiting_key(due, delivery.form, delivery.submission_id, delivery.kind))

    def _connection(self) -> Connection:
        return connection_for(self.settings)

    @_reaching_table()
    def get(self, form: str, submission_id: str, kind: str) -> Delivery | None:
        """One delivery record, or None."""
        try:
            return self._delivery(self.deliveries.get(_key(form, submission_id), kind, consistent_read=True))
        except DoesNotExist:
            return None

    @_reaching_table()
    def for_submission(self, form: str, submission_id: str) -> list[Delivery]:
        """Every delivery record of a submission."""
        return [self._delivery(r) for r in self.deliveries.query(_key(form, submission_id), consistent_read=True)]

    @_reaching_table()
    def delete_for(self, form: str, submission_id: str) -> int:
        """Delete every delivery record of a submission (and its place on the waiting list); how many."""
        deliveries = self.for_submission(form, submission_id)
        for delivery in deliveries:
            if delivery.retry_at is not None:
                self._waiting(delivery, delivery.retry_at).delete()
            self.deliveries(delivery.key, delivery.kind).delete()
        return len(deliveries)

    @_reaching_table()
    def take_daily_slot(self, form: str, address: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the mailbox's daily allowance; False once `limit` others have it.

        Spellings of one mailbox (case, `+tags`, Gmail's dots and domains) share one allowance. Asking again
        for a delivery already counted is a yes (retries and redelivered records).
        """
        digest = address_digest(address)
        return self._take(f"{form}#{digest}#{now.date().isoformat()}", now, delivery_key, limit)

    @_reaching_table()
    def take_hourly_slot(self, form: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """Count this delivery against the form's allowance for the UTC hour; False once `limit` others have it."""
        return self._take(f"{form}#hour#{hour_of(now)}", now, delivery_key, limit)

    def _take(self, key: str, now: datetime, delivery_key: str, limit: int) -> bool:
        """One conditional update: the set of deliveries grows only while smaller than the limit."""
        if limit <= 0:
            return False
        record = self.guard(key)
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

    @_reaching_table()
    def mark_outcome(self, form: str, submission_id: str, kind: str, status: str, detail: str,
                     now: datetime) -> bool:
        """Record what happened after sending (bounced, complained); False if there is no such record."""
        d = self.deliveries
        try:
            d(_key(form, submission_id), kind).update(actions=[d.status.set(status), d.last_error.set(detail[:1000]),
                                                             d.updated_at.set(now)], condition=d.status.exists())
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
                        last_error=record.last_error, message_id=record.message_id, created_at=record.created_at,
                        retry_at=int(record.retry_at) if record.retry_at is not None else None)
