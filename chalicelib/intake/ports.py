"""The stores the submit path needs, as the domain sees them; DynamoDB (chalicelib.storage) and the in-memory
store of the unit tests (chalicelib.storage.memory) both fit.

Stores raise only the store-level errors of chalicelib.core.errors (StoreUnavailableError, AdmissionRefusedError,
KeyReusedError, ConditionFailedError); the services turn them into what the visitor is told.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.core.submission import IdempotencyClaim, StoreResult, Submission

if TYPE_CHECKING:
    from chalicelib.intake.admission import Admission, Release


class SubmissionStorage(Protocol):
    """Stored submissions, each written at most once per idempotency key and only with its admissions."""

    def put(self, submission: Submission, claim: IdempotencyClaim | None = None,
            admissions: Sequence[Admission] = ()) -> StoreResult:
        """Store a submission with its claim and admissions, all or nothing.

        A claimed key seen before answers the earlier submission (created=False) for the same body and raises
        KeyReusedError for another; a refused admission raises AdmissionRefusedError.
        """
        ...

    def delete(self, form: str, submission_id: str, releases: Sequence[Release] = ()) -> bool:
        """Delete a submission with its releases, all or nothing; False (and nothing released) if it is gone."""
        ...

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        ...

    def set_status(self, form: str, submission_id: str, status: str, *, expected: str,
                   feedback_kind: str | None = None, expires_at: datetime | None = None) -> bool:
        """Change a stored submission's status from `expected` to `status` (spam cleared by the owner), and its
        feedback kind and expiry when given (spam is stored without a kind, and kept for less long); False, and
        nothing changed, when it is gone or its status is not `expected`."""
        ...

    def list(self, form: str, *, newest_first: bool = True, limit: int | None = None) -> Iterator[Submission]:
        """Submissions of a form, newest first by default."""
        ...

    def scan(self, start: tuple[str, str] | None, limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions of every form from `start` (form, id) on; the next start, None at the end."""
        ...

    def by_address(self, index: str, key: str, start: tuple[str, str] | None,
                   limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions under a normalised address `key` in a sparse address index ("by-address":
        the respondent's, "by-reply-address": a reply-to of another mailbox), from `start` (form, id) on."""
        ...

    def count(self, form: str) -> int:
        """How many submissions a form has."""
        ...

    def from_stream_image(self, image: dict[str, Any]) -> Submission:
        """A stream record's new image of a stored submission, read back into a Submission."""
        ...


class RateLimitStorage(Protocol):
    """Rate-limit counters, counted by the CountUse admissions written with submissions."""

    def uses(self, key: str) -> int:
        """How many uses of `key` were counted (0 if none)."""
        ...


class SurveyStorage(Protocol):
    """Survey places and address markers, taken by the admissions written with submissions."""

    def responses(self, form: str) -> int:
        """How many of a survey's places are taken."""
        ...
