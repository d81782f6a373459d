"""Submissions in DynamoDB: a plain post is one PutItem sent from here; the rest goes through PynamoDB.

A post with no condition (no idempotency key, no rate limit or survey admission) is written straight from the
Submission (items.py) through the process's shared botocore client (client.py). Everything else — transactions,
reads, deletions — is SubmissionTables' (submission_tables.py), built on first need: a cold start that only
stores a plain post never imports PynamoDB.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import Settings
from chalicelib.core.submission import IdempotencyClaim, StoreResult, Submission

from .client import dynamodb_client, put_item
from .items import submission_item
from .limits import RateLimitStore
from .surveys import SurveyStore

if TYPE_CHECKING:
    from chalicelib.intake.admission import Admission, Release

    from .submission_tables import IdempotencyRecord, SubmissionRecord, SubmissionTables


class SubmissionStore:
    """Reads and writes submissions; every write is conditional, never read-then-write."""

    def __init__(self, settings: Settings, limits: RateLimitStore | None = None,
                 surveys: SurveyStore | None = None) -> None:
        self.settings = settings
        # The tables that admissions and releases write to, in the same transaction as a submission.
        self.limits = limits or RateLimitStore(settings)
        self.surveys = surveys or SurveyStore(settings)
        self._table_name = settings.table_name("submissions")

    @functools.cached_property
    def tables(self) -> SubmissionTables:
        """The submissions and idempotency tables through PynamoDB (imported now)."""
        from .submission_tables import SubmissionTables
        return SubmissionTables(self.settings, self.limits, self.surveys)

    @property
    def submissions(self) -> type[SubmissionRecord]:
        """The submissions table's bound PynamoDB model."""
        return self.tables.submissions

    @property
    def idempotency(self) -> type[IdempotencyRecord]:
        """The idempotency keys table's bound PynamoDB model."""
        return self.tables.idempotency

    @property
    def models(self) -> list[type[Any]]:
        return self.tables.models

    def put(self, submission: Submission, claim: IdempotencyClaim | None = None,
            admissions: Sequence[Admission] = ()) -> StoreResult:
        """Store a submission in one request: with a claim exactly once per key, and only if every admission's
        condition holds (a rate limit, a survey's places, one response per address), all in one transaction."""
        item = submission_item(submission) if claim is None and not admissions else None
        if item is None:
            return self.tables.put(submission, claim, admissions)
        # No condition: the id is a fresh ULID, so the only item it can meet is this very one, written by an
        # attempt whose answer was lost; botocore's retry then rewrites the same bytes (a no-op for the stream,
        # which only acts on INSERT). PynamoDB's request wrapper (an id, two signals, a debug log, asking for
        # consumed capacity) would be a third of a post's own CPU and adds nothing to one unconditional put.
        put_item(dynamodb_client(self.settings), self._table_name, item,
                 f"submission {submission.form}/{submission.id} not stored")
        return StoreResult(submission.id, created=True)

    def set_status(self, form: str, submission_id: str, status: str, *, expected: str,
                   feedback_kind: str | None = None, expires_at: datetime | None = None) -> bool:
        """Change a submission's status from `expected` in one conditional update; False when it is gone or has
        another status. The stream's MODIFY record is ignored (jobs.py): the caller runs what the new status owes."""
        return self.tables.set_status(form, submission_id, status, expected=expected, feedback_kind=feedback_kind,
                                      expires_at=expires_at)

    def delete(self, form: str, submission_id: str, releases: Sequence[Release] = ()) -> bool:
        """Delete a submission and undo what admitted it, in one transaction; False if it was not there."""
        return self.tables.delete(form, submission_id, releases)

    def botocore_clients(self) -> list[Any]:
        """The botocore clients every write of this store goes through (tests inject faults on them)."""
        return [dynamodb_client(self.settings), *self.tables.botocore_clients()]

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        return self.tables.get(form, submission_id)

    def list(self, form: str, *, newest_first: bool = True, limit: int | None = None) -> Iterator[Submission]:
        """Submissions of a form, newest first by default."""
        return self.tables.list(form, newest_first=newest_first, limit=limit)

    def scan(self, start: tuple[str, str] | None, limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions of every form from `start` (form, id) on; the next start, None at the end."""
        return self.tables.scan(start, limit)

    def by_address(self, index: str, key: str, start: tuple[str, str] | None,
                   limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions whose address (`index` "by-address") or reply-to ("by-reply-address") has
        the normalised `key`, oldest first, from `start` (form, id) on; the next start, None at the end."""
        return self.tables.by_address(index, key, start, limit)

    def count(self, form: str) -> int:
        """How many submissions a form has (a query, so for tests and small forms)."""
        return self.tables.count(form)

    def from_stream_image(self, image: dict[str, Any]) -> Submission:
        """A stream record's NewImage (DynamoDB JSON) as a Submission, read by the table's own model."""
        return self.tables.from_stream_image(image)
