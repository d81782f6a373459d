"""What the webhook service needs from a store (DynamoDB, or the in-memory one of the unit tests)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.webhooks.events import Event
from chalicelib.webhooks.records import WebhookDelivery, WebhookDue


class WebhookStore(Protocol):
    """Events, delivery records and disabled targets; every state change conditional on the state it expects.

    Methods raise StoreUnavailableError when the database cannot be reached, and ConditionFailedError when a
    record is not in the state a change expects.
    """

    def save_event(self, event: Event, now: datetime) -> None:
        """Keep an event for retries and replays (saving it again changes nothing)."""
        ...

    def delete_event(self, form: str, event_id: str) -> None:
        """Forget a stored event (its submission was deleted); nothing happens if there is none."""
        ...

    def event(self, form: str, event_id: str) -> Event | None:
        """One stored event, or None."""
        ...

    def events_since(self, form: str, since: datetime, limit: int) -> list[Event]:
        """A form's events from `since` on, oldest first."""
        ...

    def ensure(self, event: Event, target: str, now: datetime) -> WebhookDelivery:
        """The delivery record of an event to a target, created as pending unless it exists (then as stored)."""
        ...

    def claim(self, delivery: WebhookDelivery, now: datetime, lease_seconds: int) -> WebhookDelivery | None:
        """Take a pending delivery for one attempt; None if it is settled, held by another worker, or waiting."""
        ...

    def settle(self, delivery: WebhookDelivery, status: str, now: datetime, *, error: str | None = None,
               http_status: int | None = None) -> None:
        """Record the end of a delivery (delivered or failed); it leaves the waiting list."""
        ...

    def postpone(self, delivery: WebhookDelivery, now: datetime, retry_at: datetime, error: str | None,
                 http_status: int | None = None) -> None:
        """Leave a pending delivery for a later attempt at `retry_at` (nobody claims it before then)."""
        ...

    def reopen(self, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
        """Make a settled delivery pending again (an admin's retry or replay), free to claim now."""
        ...

    def due(self, now: datetime, limit: int) -> list[WebhookDue]:
        """The deliveries whose next attempt is due, oldest first."""
        ...

    def forget(self, due: WebhookDue) -> None:
        """Drop a waiting entry whose delivery was settled, moved or deleted meanwhile."""
        ...

    def get(self, form: str, event_id: str, target: str) -> WebhookDelivery | None:
        """One delivery record, or None."""
        ...

    def recent(self, form: str, limit: int) -> list[WebhookDelivery]:
        """A form's delivery records, newest event first."""
        ...

    def disable_target(self, form: str, target: str, reason: str, now: datetime) -> None:
        """Stop sending to a target (it answered 410 Gone) until an admin retries or replays to it."""
        ...

    def enable_target(self, form: str, target: str) -> None:
        """Send to a disabled target again."""
        ...

    def disabled(self, form: str, target: str) -> str | None:
        """Why a target is disabled, or None when it is not."""
        ...
