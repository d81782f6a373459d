"""What reporting reads and writes: a submission's contribution to results, stored results, submission pages."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from chalicelib.core.submission import Submission

LATEST_TEXTS = 20  # free-text answers kept per question, newest first


@dataclass(frozen=True)
class Contribution:
    """What one submission adds to its form's results."""

    form: str
    submission_id: str
    created_at: datetime
    counts: dict[str, int | Decimal]  # counter name -> amount to add
    texts: dict[str, str] = field(default_factory=dict)  # question -> free-text answer
    retention_days: int = 365


@dataclass(frozen=True)
class TextAnswer:
    """One free-text answer, for the latest-first list."""

    submission_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class StoredResults:
    """Everything results are computed from: the counters and each question's latest texts."""

    counters: dict[str, int | Decimal]
    texts: dict[str, list[TextAnswer]]


@dataclass(frozen=True)
class SubmissionPage:
    """Up to `limit` submissions, and the id to continue after (None on the last page)."""

    submissions: list[Submission]
    last_id: str | None
