"""Delivery records: one per email a submission is owed, with its status; and the waiting list's entries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"


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
    created_at: datetime | None = None
    retry_at: int | None = None  # epoch second of the next attempt, while waiting for one

    @property
    def waiting(self) -> bool:
        """Pending, but only for a later attempt (the provider kept failing), not held by a sender now."""
        return self.status == PENDING and self.retry_at is not None

    @property
    def key(self) -> str:
        """The submission the email belongs to, as "<form>#<submission id>"."""
        return f"{self.form}#{self.submission_id}"


@dataclass(frozen=True)
class Due:
    """One email whose later round is due, as its waiting entry names it."""

    form: str
    submission_id: str
    kind: str
    due: int


def hour_of(moment: datetime) -> str:
    """The UTC hour a moment falls in, as "YYYY-MM-DDTHH" (the per-form acknowledgement allowance's period)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")
