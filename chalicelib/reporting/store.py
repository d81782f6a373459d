"""What reporting needs from its stores (DynamoDB, or the in-memory ones of the unit tests).

Both raise StoreUnavailableError when the database cannot be reached; the services turn it into a 503.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from chalicelib.core.submission import Submission
from chalicelib.reporting.model import Contribution, StoredResults, SubmissionPage


class ResultStore(Protocol):
    """A form's result counters and latest free-text answers, changed once per submission."""

    def add(self, contribution: Contribution) -> bool:
        """Count a submission once; False if it was already counted (a redelivered record)."""
        ...

    def remove(self, contribution: Contribution) -> bool:
        """Take a deleted submission out of its form's results; False if it was never counted."""
        ...

    def read(self, form: str, text_questions: Iterable[str]) -> StoredResults:
        """The counters and, per question asked for, the latest texts still within their retention."""
        ...


class SubmissionPages(Protocol):
    """One form's submissions, newest first, a bounded page at a time."""

    def page(self, form: str, *, after: str | None, limit: int, status: str | None) -> SubmissionPage:
        """The next `limit` submissions after the id `after` (newest first), optionally of one status."""
        ...

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        ...
