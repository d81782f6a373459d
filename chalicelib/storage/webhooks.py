"""Webhook events, delivery records, the waiting list and disabled targets: one DynamoDB table.

Items of a form share its partition, told apart by the sort key: `e#<event id>` (the event, kept for retries
and replays), `d#<event id>#<target>` (a delivery), `t#<target>` (a disabled target). Event ids sort by time,
so "since" and "newest first" are single Queries. Every state change is one conditional write, never
read-then-write: two workers handed the same stream record cannot both send.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import Settings
from chalicelib.core.errors import ConditionFailedError
from chalicelib.webhooks.events import Event
from chalicelib.webhooks.records import PENDING, WebhookDelivery, WebhookDue

from .base import bind_model, connection_for, error_code, store_errors

# Events (with their answers) are kept this long for retries and replays; delivery records as long as emails'.
EVENT_RETENTION = timedelta(days=30)
DELIVERY_RETENTION = timedelta(days=400)
WAITING = "~waiting"  # form ids never start with "~"


class WebhookDeliveryRecord(Model):
    """One event owed to one target: status, attempts, last error and answer."""

    class Meta:
        table_name = "unbound-webhooks"

    pk = UnicodeAttribute(hash_key=True)  # the form
    sk = UnicodeAttribute(range_key=True)  # "d#<event id>#<target>"
    event_type = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    last_status = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # While a worker sends, others keep off until this epoch second; while waiting, until the attempt is due.
    lease_until = NumberAttribute(default=0)
    retry_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class WebhookEventRecord(Model):
    """One event of a form, as JSON (`e#<event id>`)."""

    class Meta:
        table_name = "unbound-webhooks"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class WebhookTargetRecord(Model):
    """A disabled target of a form (`t#<target>`) and why."""

    class Meta:
        table_name = "unbound-webhooks"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    reason = UnicodeAttribute()
    disabled_at = UTCDateTimeAttribute()


class WebhookWaitingRecord(Model):
    """A delivery waiting for a later attempt, in the WAITING partition: "<due, 12 digits>#<form>#<event>#<target>"."""

    class Meta:
        table_name = "unbound-webhooks"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


def _delivery_key(event_id: str, target: str) -> str:
    return f"d#{event_id}#{target}"


_reaching_table = functools.partial(store_errors, "webhook record", "webhooks table")

class WebhookStore:
    """Webhook events and deliveries in DynamoDB, every change a conditional write."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deliveries: type[WebhookDeliveryRecord] = bind_model(  # type: ignore[assignment]
            WebhookDeliveryRecord, settings, "webhooks")
        # The same table (created with the deliveries' model, so not in `models`).
        self.events: type[WebhookEventRecord] = bind_model(WebhookEventRecord, settings, "webhooks")  # type: ignore[assignment]
        self.targets: type[WebhookTargetRecord] = bind_model(WebhookTargetRecord, settings, "webhooks")  # type: ignore[assignment]
        self.waiting: type[WebhookWaitingRecord] = bind_model(WebhookWaitingRecord, settings, "webhooks")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.deliveries]

    @_reaching_table()
    def save_event(self, event: Event, now: datetime) -> None:
        """Keep an event for retries and replays (saving it again changes nothing)."""
        record = self.events(event.form, f"e#{event.id}", body=json.dumps(event.as_json(), ensure_ascii=False),
                             expires_at=now + EVENT_RETENTION)
        try:
            record.save(condition=self.events.pk.does_not_exist())
        except PynamoDBException as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    @_reaching_table()
    def delete_event(self, form: str, event_id: str) -> None:
        """Forget a stored event (its submission was deleted); nothing happens if there is none."""
        self.events(form, f"e#{event_id}").delete()

    @_reaching_table()
    def event(self, form: str, event_id: str) -> Event | None:
        """One stored event, or None."""
        try:
            return Event.from_json(json.loads(self.events.get(form, f"e#{event_id}", consistent_read=True).body))
        except DoesNotExist:
            return None

    @_reaching_table()
    def events_since(self, form: str, since: datetime, limit: int) -> list[Event]:
        """A form's events from `since` on, oldest first."""
        start = f"e#{int(since.timestamp() * 1000):013d}"
        return [Event.from_json(json.loads(item.body)) for item in self.events.query(
            form, self.events.sk.between(start, "e#~"), limit=limit, consistent_read=True)]

    @_reaching_table()
    def ensure(self, event: Event, target: str, now: datetime) -> WebhookDelivery:
        """The delivery record of an event to a target, created as pending unless it exists (then as stored)."""
        record = self.deliveries(event.form, _delivery_key(event.id, target), event_type=event.type, status=PENDING,
                                 attempts=0, created_at=now, updated_at=now, lease_until=0,
                                 expires_at=now + DELIVERY_RETENTION)
        try:
            record.save(condition=self.deliveries.pk.does_not_exist())
        except PynamoDBException as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            found = self.get(event.form, event.id, target)
            if found is None:
                raise ConditionFailedError(f"webhook delivery {event.id}/{target} deleted meanwhile") from exc
            return found
        return self._delivery(record)

    @_reaching_table()
    def claim(self, delivery: WebhookDelivery, now: datetime, lease_seconds: int) -> WebhookDelivery | None:
        """Take a pending delivery for one attempt; None if it is settled, held by another worker, or waiting."""
        d = self.deliveries
        record = d(delivery.form, _delivery_key(delivery.event_id, delivery.target))
        epoch = int(now.timestamp())
        try:
            record.update(actions=[d.attempts.add(1), d.lease_until.set(epoch + lease_seconds), d.updated_at.set(now)],
                          condition=(d.status == PENDING) & (d.lease_until < epoch))
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return self._delivery(record)

    def _change(self, delivery: WebhookDelivery, actions: list[Action], *, unwait: bool,
                wait_until: datetime | None = None) -> None:
        """One conditional update of a pending delivery, with its waiting entry moved in the same transaction."""
        d = self.deliveries
        # The record as claimed or last read; the condition below refuses the change if it moved since.
        old_due = delivery.retry_at if unwait else None
        record = d(delivery.form, _delivery_key(delivery.event_id, delivery.target))
        condition = d.status == PENDING
        if old_due is None and wait_until is None:
            record.update(actions=actions, condition=condition & d.retry_at.does_not_exist())
            return
        with TransactWrite(connection=connection_for(self.settings)) as transaction:
            guard = condition & (d.retry_at == old_due if old_due is not None else d.retry_at.does_not_exist())
            transaction.update(record, actions=actions, condition=guard)
            if old_due is not None:
                transaction.delete(self.waiting(WAITING, self._waiting_key(old_due, delivery)))
            if wait_until is not None:
                due = int(wait_until.timestamp())
                if due != old_due:
                    transaction.save(self.waiting(WAITING, self._waiting_key(due, delivery),
                                                  expires_at=wait_until + DELIVERY_RETENTION))

    @staticmethod
    def _waiting_key(due: int, delivery: WebhookDelivery) -> str:
        return f"{due:012d}#{delivery.form}#{delivery.event_id}#{delivery.target}"

    @_reaching_table()
    def settle(self, delivery: WebhookDelivery, status: str, now: datetime, *, error: str | None = None,
               http_status: int | None = None) -> None:
        """Record the end of a delivery (delivered or failed); it leaves the waiting list."""
        d = self.deliveries
        actions: list[Action] = [d.status.set(status), d.updated_at.set(now), d.lease_until.set(0), d.retry_at.remove()]
        if error is not None:
            actions.append(d.last_error.set(error[:1000]))
        if http_status is not None:
            actions.append(d.last_status.set(http_status))
        self._change(delivery, actions, unwait=True)

    @_reaching_table()
    def postpone(self, delivery: WebhookDelivery, now: datetime, retry_at: datetime, error: str | None,
                 http_status: int | None = None) -> None:
        """Leave a pending delivery for a later attempt at `retry_at` (nobody claims it before then)."""
        d = self.deliveries
        due = int(retry_at.timestamp())
        # Claimable from the due second on (a claim needs lease_until < now).
        actions: list[Action] = [d.updated_at.set(now), d.lease_until.set(due - 1), d.retry_at.set(due)]
        if error is not None:
            actions.append(d.last_error.set(error[:1000]))
        if http_status is not None:
            actions.append(d.last_status.set(http_status))
        self._change(delivery, actions, unwait=True, wait_until=retry_at)

    @_reaching_table()
    def reopen(self, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
        """Make a settled delivery pending again (an admin's retry or replay), free to claim now."""
        d = self.deliveries
        record = d(delivery.form, _delivery_key(delivery.event_id, delivery.target))
        record.update(actions=[d.status.set(PENDING), d.updated_at.set(now), d.lease_until.set(0)],
                      condition=d.status.exists() & (d.status != PENDING))
        return self._delivery(record)

    @_reaching_table()
    def due(self, now: datetime, limit: int) -> list[WebhookDue]:
        """The deliveries whose next attempt is due, oldest first (one strongly consistent Query)."""
        found = []
        for item in self.waiting.query(WAITING, self.waiting.sk < f"{int(now.timestamp()) + 1:012d}",
                                       limit=limit, consistent_read=True):
            due, form, event_id, target = item.sk.split("#", 3)
            found.append(WebhookDue(form, event_id, target, int(due)))
        return found

    @_reaching_table()
    def forget(self, due: WebhookDue) -> None:
        """Drop a waiting entry whose delivery was settled, moved or deleted meanwhile."""
        self.waiting(WAITING, f"{due.due:012d}#{due.form}#{due.event_id}#{due.target}").delete()

    @_reaching_table()
    def get(self, form: str, event_id: str, target: str) -> WebhookDelivery | None:
        """One delivery record, or None."""
        try:
            return self._delivery(self.deliveries.get(form, _delivery_key(event_id, target), consistent_read=True))
        except DoesNotExist:
            return None

    @_reaching_table()
    def recent(self, form: str, limit: int) -> list[WebhookDelivery]:
        """A form's delivery records, newest event first."""
        return [self._delivery(item) for item in self.deliveries.query(
            form, self.deliveries.sk.startswith("d#"), scan_index_forward=False, limit=limit)]

    @_reaching_table()
    def disable_target(self, form: str, target: str, reason: str, now: datetime) -> None:
        """Stop sending to a target until an admin retries or replays to it."""
        self.targets(form, f"t#{target}", reason=reason, disabled_at=now).save()

    @_reaching_table()
    def enable_target(self, form: str, target: str) -> None:
        """Send to a disabled target again."""
        self.targets(form, f"t#{target}").delete()

    @_reaching_table()
    def disabled(self, form: str, target: str) -> str | None:
        """Why a target is disabled, or None when it is not."""
        try:
            return str(self.targets.get(form, f"t#{target}", consistent_read=True).reason)
        except DoesNotExist:
            return None

    @staticmethod
    def _delivery(record: WebhookDeliveryRecord) -> WebhookDelivery:
        _, event_id, target = record.sk.split("#", 2)
        return WebhookDelivery(form=record.pk, event_id=event_id, target=target, event_type=record.event_type or "",
                               status=record.status or PENDING, attempts=int(record.attempts or 0),
                               last_error=record.last_error,
                               last_status=int(record.last_status) if record.last_status is not None else None,
                               created_at=record.created_at, updated_at=record.updated_at,
                               retry_at=int(record.retry_at) if record.retry_at is not None else None)
