"""Submissions read page by page (newest first), for admin listings and CSV exports."""
from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import PynamoDBException

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError
from chalicelib.reporting.model import SubmissionPage

from .base import bind_model
from .submission_tables import Submission, SubmissionRecord, SubmissionTables, read_submission


class SubmissionPages:
    """Keyset pagination over one form's submissions: each page is one bounded Query."""

    def __init__(self, settings: Settings) -> None:
        self.submissions: type[SubmissionRecord] = bind_model(  # type: ignore[assignment]
            SubmissionRecord, settings, "submissions")

    def page(self, form: str, *, after: str | None, limit: int, status: str | None) -> SubmissionPage:
        """The next `limit` submissions after the id `after` (newest first), optionally of one status."""
        found: list[Submission] = []
        start = {"form": {"S": form}, "id": {"S": after}} if after else None
        condition = self.submissions.status == status if status else None
        try:
            query = self.submissions.query(form, filter_condition=condition, scan_index_forward=False,
                                           consistent_read=True, last_evaluated_key=start, page_size=limit)
            records = iter(query)
            for record in records:
                found.append(SubmissionTables._submission(record))
                if len(found) == limit:
                    break
            # Peek rather than trust LastEvaluatedKey: with a filter, a full page can end mid-way through a query page.
            more = len(found) == limit and next(records, None) is not None
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"submissions could not be read: {exc}") from exc
        return SubmissionPage(found, found[-1].id if more and found else None)

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        return read_submission(self.submissions, form, submission_id)

    def all(self, form: str, *, status: str | None, page_size: int = 200) -> Iterator[Submission]:
        """Every submission of a form, fetched one page at a time (constant memory)."""
        after: str | None = None
        while True:
            page = self.page(form, after=after, limit=page_size, status=status)
            yield from page.submissions
            if page.last_id is None:
                return
            after = page.last_id
