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
    # Where the post came from: {"page": the referring page, "utm_source": …} (chalicelib/intake/source.py).
    source: dict[str, str] | None = None

    @property
    def source_label(self) -> str | None:
        """The source in one short name, as the inbox filters and the results count it: the `utm_source`, else
        the referring page's host."""
        if not self.source:
            return None
        if self.source.get("utm_source"):
            return self.source["utm_source"].lower()[:60]
        page = self.source.get("page", "")
        host = page.split("://", 1)[-1].split("/", 1)[0] if page else ""
        return host or None


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
