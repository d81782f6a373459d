"""What the case service needs from a case store (DynamoDB, or the in-memory one of the unit tests)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.cases.model import Case, InboxPage, InboxQuery


class CaseStore(Protocol):
    """Keeps cases; every change is conditional on the version read, so two owners never overwrite each other.

    Methods raise StoreUnavailableError when the database cannot be reached; `replace` raises
    ConditionFailedError when the case changed since it was read.
    """

    def create(self, case: Case) -> bool:
        """Store a new case; False (and nothing written) when the submission has one already."""
        ...

    def get(self, form: str, submission_id: str) -> Case | None:
        """One case, or None."""
        ...

    def replace(self, case: Case) -> Case:
        """Write a changed case over version `case.version`; the case as stored (its version one higher)."""
        ...

    def page(self, query: InboxQuery, now: datetime, limit: int, after: str | None) -> InboxPage:
        """Up to `limit` cases in inbox order after the position `after`, reading only those (an index per filter)."""
        ...

    def delete(self, form: str, submission_id: str) -> None:
        """Forget a case (its submission was deleted)."""
        ...

    def count_attempt(self, key: str, window_ends: datetime) -> int:
        """Count one more attempt under `key` (a client and a window); how many were counted, this one included."""
        ...

    def attempts(self, key: str) -> int:
        """How many attempts were counted under `key` (0 if none)."""
        ...
