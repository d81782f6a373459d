"""Webhook delivery records: one per event and target, with its status, attempts, last error and last answer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass
class WebhookDelivery:
    """One event owed to one target, as the webhook service sees it."""

    form: str
    event_id: str
    target: str
    event_type: str
    status: str
    attempts: int = 0
    last_error: str | None = None
    last_status: int | None = None  # the receiver's last HTTP status, if it answered
    created_at: datetime | None = None
    updated_at: datetime | None = None
    retry_at: int | None = None  # epoch second of the next attempt, while waiting for one

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` every attempt of this event carries."""
        return f"msg_{self.event_id}"

    @property
    def waiting(self) -> bool:
        """Pending, but only for a later attempt (the receiver kept failing), not held by a sender now."""
        return self.status == PENDING and self.retry_at is not None

    def as_json(self) -> dict[str, Any]:
        """The record as the admin API shows it."""
        return {"event": self.event_id, "webhookId": self.webhook_id, "type": self.event_type,
                "target": self.target, "status": self.status, "attempts": self.attempts,
                "lastError": self.last_error, "lastStatus": self.last_status,
                "createdAt": self.created_at.isoformat() if self.created_at else None,
                "updatedAt": self.updated_at.isoformat() if self.updated_at else None,
                "nextAttemptAt": self.retry_at}


@dataclass(frozen=True)
class WebhookDue:
    """One delivery whose next attempt is due, as its waiting entry names it."""

    form: str
    event_id: str
    target: str
    due: int
