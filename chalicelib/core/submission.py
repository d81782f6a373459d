"""The Submission entity: one stored form post as the whole of Formloop sees it, and what storing one returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Submission:
    """A submission as the rest of Formloop sees it."""

    form: str
    id: str
    created_at: datetime
    status: str
    answers: dict[str, Any]
    feedback_kind: str | None = None
    language: str | None = None
    origin: str | None = None
    user_agent: str | None = None
    ip_hash: str | None = None
    respondent_email: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    retention_days: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IdempotencyClaim:
    """An idempotency key (already hashed with its form) and the hash of the body that used it."""

    key: str
    body_hash: str


@dataclass(frozen=True)
class StoreResult:
    """What a store call did: a new item, or the earlier item a repeated key points to."""

    submission_id: str
    created: bool
