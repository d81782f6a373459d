"""Webhook events and deliveries held in memory: the same behaviour as the DynamoDB store, for unit tests.

Each change checks the state it expects under one lock, as the DynamoDB store's conditional writes do: two
workers cannot both claim a delivery, a settled one is not settled again, a lease keeps others off.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.core.errors import ConditionFailedError
from chalicelib.webhooks.events import Event
from chalicelib.webhooks.records import PENDING, WebhookDelivery, WebhookDue


@dataclass
class _Record:
    delivery: WebhookDelivery
    lease_until: int = 0  # epoch second before which nobody claims the delivery


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class MemoryWebhookStore:
    """Events, deliveries, the waiting list and disabled targets in dictionaries, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._events: dict[tuple[str, str], Event] = {}  # (form, event id) -> event
        self._records: dict[tuple[str, str, str], _Record] = {}  # (form, event id, target) -> record
        self._waiting: set[tuple[int, str, str, str]] = set()  # (due, form, event id, target)
        self._disabled: dict[tuple[str, str], str] = {}  # (form, target) -> why

    def save_event(self, event: Event, now: datetime) -> None:
        """Keep an event for retries and replays (saving it again changes nothing)."""
        with self._lock:
            self._events.setdefault((event.form, event.id), event)

    def delete_event(self, form: str, event_id: str) -> None:
        """Forget a stored event (its submission was deleted); nothing happens if there is none."""
        with self._lock:
            self._events.pop((form, event_id), None)

    def event(self, form: str, event_id: str) -> Event | None:
        """One stored event, or None."""
        with self._lock:
            return self._events.get((form, event_id))

    def events_since(self, form: str, since: datetime, limit: int) -> list[Event]:
        """A form's events from `since` on, oldest first (ids sort by time)."""
        with self._lock:
            found = sorted((event_id, event) for (f, event_id), event in self._events.items()
                           if f == form and event.occurred_at >= since)
        return [event for _, event in found[:limit]]

    def ensure(self, event: Event, target: str, now: datetime) -> WebhookDelivery:
        """The delivery record of an event to a target, created as pending unless it exists (then as stored)."""
        with self._lock:
            record = self._records.setdefault((event.form, event.id, target), _Record(WebhookDelivery(
                form=event.form, event_id=event.id, target=target, event_type=event.type, status=PENDING,
                created_at=now, updated_at=now)))
            return replace(record.delivery)

    def claim(self, delivery: WebhookDelivery, now: datetime, lease_seconds: int) -> WebhookDelivery | None:
        """Take a pending delivery for one attempt; None if it is settled, held by another worker, or waiting."""
        with self._lock:
            record = self._records.get((delivery.form, delivery.event_id, delivery.target))
            if record is None or record.delivery.status != PENDING or record.lease_until >= _epoch(now):
                return None
            record.delivery.attempts += 1
            record.delivery.updated_at = now
            record.lease_until = _epoch(now) + lease_seconds
            return replace(record.delivery)

    def _pending(self, delivery: WebhookDelivery) -> _Record:
        record = self._records.get((delivery.form, delivery.event_id, delivery.target))
        if record is None or record.delivery.status != PENDING:
            raise ConditionFailedError(f"webhook delivery {delivery.event_id}/{delivery.target} is not pending")
        return record

    def settle(self, delivery: WebhookDelivery, status: str, now: datetime, *, error: str | None = None,
               http_status: int | None = None) -> None:
        """Record the end of a delivery (delivered or failed); it leaves the waiting list."""
        with self._lock:
            record = self._pending(delivery)
            stored = record.delivery
            self._unwait(stored)
            stored.status, stored.updated_at, stored.retry_at = status, now, None
            record.lease_until = 0
            if error is not None:
                stored.last_error = error[:1000]
            if http_status is not None:
                stored.last_status = http_status

    def postpone(self, delivery: WebhookDelivery, now: datetime, retry_at: datetime, error: str | None,
                 http_status: int | None = None) -> None:
        """Leave a pending delivery for a later attempt at `retry_at` (nobody claims it before then)."""
        due = _epoch(retry_at)
        with self._lock:
            record = self._pending(delivery)
            stored = record.delivery
            self._unwait(stored)
            stored.retry_at, stored.updated_at = due, now
            record.lease_until = due - 1  # claimable from the due second on
            if error is not None:
                stored.last_error = error[:1000]
            if http_status is not None:
                stored.last_status = http_status
            self._waiting.add((due, stored.form, stored.event_id, stored.target))

    def reopen(self, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
        """Make a settled delivery pending again (an admin's retry or replay), free to claim now."""
        with self._lock:
            record = self._records.get((delivery.form, delivery.event_id, delivery.target))
            if record is None or record.delivery.status == PENDING:
                raise ConditionFailedError(f"webhook delivery {delivery.event_id}/{delivery.target} is not settled")
            record.delivery.status, record.delivery.updated_at = PENDING, now
            record.lease_until = 0
            return replace(record.delivery)

    def _unwait(self, stored: WebhookDelivery) -> None:
        if stored.retry_at is not None:
            self._waiting.discard((stored.retry_at, stored.form, stored.event_id, stored.target))

    def due(self, now: datetime, limit: int) -> list[WebhookDue]:
        """The deliveries whose next attempt is due, oldest first."""
        with self._lock:
            found = sorted(entry for entry in self._waiting if entry[0] <= _epoch(now))[:limit]
        return [WebhookDue(form, event_id, target, due) for due, form, event_id, target in found]

    def forget(self, due: WebhookDue) -> None:
        """Drop a waiting entry whose delivery was settled, moved or deleted meanwhile."""
        with self._lock:
            self._waiting.discard((due.due, due.form, due.event_id, due.target))

    def get(self, form: str, event_id: str, target: str) -> WebhookDelivery | None:
        """One delivery record, or None."""
        with self._lock:
            record = self._records.get((form, event_id, target))
            return replace(record.delivery) if record else None

    def recent(self, form: str, limit: int) -> list[WebhookDelivery]:
        """A form's delivery records, newest event first."""
        with self._lock:
            found = sorted(((key, record) for key, record in self._records.items() if key[0] == form),
                           key=lambda item: (item[0][1], item[0][2]), reverse=True)
            return [replace(record.delivery) for _, record in found[:limit]]

    def disable_target(self, form: str, target: str, reason: str, now: datetime) -> None:
        """Stop sending to a target until an admin retries or replays to it."""
        with self._lock:
            self._disabled[(form, target)] = reason

    def enable_target(self, form: str, target: str) -> None:
        """Send to a disabled target again."""
        with self._lock:
            self._disabled.pop((form, target), None)

    def disabled(self, form: str, target: str) -> str | None:
        """Why a target is disabled, or None when it is not."""
        with self._lock:
            return self._disabled.get((form, target))
