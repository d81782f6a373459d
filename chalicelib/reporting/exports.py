"""Admin reads of submissions: one, a page as JSON, or CSV written page by page."""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.core import cursor as cursors
from chalicelib.core.errors import MalformedRequestError, NotFoundError, StorageUnavailableError, StoreUnavailableError
from chalicelib.core.ids import is_submission_id
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, FormRegistry
from chalicelib.pages.rendering import matrix_rows, widget_of
from chalicelib.reporting.model import SubmissionPage
from chalicelib.reporting.store import SubmissionPages

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CSV_PAGE = 200
# A Lambda response carries at most 6 MB: a bigger export is cut at a page boundary, with a next link.
CSV_MAX_BYTES = 5 * 1024 * 1024
STATUSES = ("received", "spam", "all")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); full-width forms are
# folded to ASCII by some spreadsheets, and `;`/`|` start DDE payloads in older ones.
_FORMULA_START = frozenset("=+-@\t\r\n;|\uff1d\uff0b\uff0d\uff20")


def _ignored_by_spreadsheets(char: str) -> bool:
    # Leading spaces, zero-width characters and a byte order mark are skipped before the formula is seen.
    return char.isspace() or unicodedata.category(char) == "Cf"


def neutralise(cell: str) -> str:
    """Make a text cell inert in spreadsheets: prefix a quote when it could start a formula."""
    for char in cell:
        if char in _FORMULA_START:
            return "'" + cell
        if not _ignored_by_spreadsheets(char):
            return cell
    return cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return neutralise("; ".join(str(v) for v in value))
    if isinstance(value, (int, float, Decimal)):
        # A number is data, never a formula, so "-5" stays "-5".
        return str(int(value)) if isinstance(value, Decimal) and value == int(value) else str(value)
    return neutralise(str(value))


Column = tuple[str, Callable[[Submission], Any]]


def columns(definition: FormDefinition) -> list[Column]:
    """The CSV columns: who/when first, then every question in the definition's order (a matrix row each)."""
    out: list[Column] = [
        ("id", lambda s: s.id), ("created_at", lambda s: s.created_at.isoformat()),
        ("status", lambda s: s.status), ("feedback_kind", lambda s: s.feedback_kind),
        ("language", lambda s: s.language),
    ]
    for question in definition.questions:
        name = question.name
        if widget_of(question) == "likert":
            for row, _ in matrix_rows(question, definition.locales[0]):
                out.append((f"{name}.{row}", _row(name, row)))
        else:
            out.append((name, _answer(name)))
    return out


def _answer(name: str) -> Callable[[Submission], Any]:
    return lambda submission: submission.answers.get(name)


def _row(name: str, row: str) -> Callable[[Submission], Any]:
    def get(submission: Submission) -> Any:
        rows = submission.answers.get(name)
        return rows.get(row) if isinstance(rows, dict) else None
    return get


def submission_json(submission: Submission) -> dict[str, Any]:
    """A submission as admins read it."""
    return {
        "id": submission.id, "form": submission.form, "createdAt": submission.created_at.isoformat(),
        "status": submission.status, "feedbackKind": submission.feedback_kind, "language": submission.language,
        "answers": json.loads(json.dumps(submission.answers, default=_json_number)),
        "respondentEmail": submission.respondent_email, "replyTo": submission.reply_to,
        "subject": submission.subject, "origin": submission.origin, "userAgent": submission.user_agent,
    }


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


CURSOR_MESSAGE = "The cursor is not valid; pass the nextCursor of the previous page."


def encode_cursor(after: str, status: str) -> str:
    """An opaque cursor: where the next page starts, and the status filter it belongs to."""
    return cursors.encode_cursor({"after": after, "status": status})


def decode_cursor(text: str) -> tuple[str, str]:
    """(after, status) from a cursor; MalformedRequestError if it was not made by Formloop."""
    position = cursors.decode_cursor(text, {"after": is_submission_id, "status": STATUSES.__contains__}, CURSOR_MESSAGE)
    return position["after"], position["status"]


def _unreadable() -> StorageUnavailableError:
    return StorageUnavailableError("Submissions cannot be read just now; try again in a few seconds.")


@dataclass(frozen=True)
class CsvExport:
    """A CSV body and, when the export was cut to fit a response, the cursor to continue from."""

    body: str
    next_cursor: str | None


class ExportService:
    """Lists and exports a form's submissions for admins; reads only."""

    def __init__(self, forms: FormRegistry, pages: SubmissionPages) -> None:
        self.forms = forms
        self.pages = pages

    def _form(self, form_id: str) -> FormDefinition:
        return self.forms.require(form_id)

    @staticmethod
    def _start(cursor: str | None, status: str | None) -> tuple[str | None, str]:
        if cursor:
            return decode_cursor(cursor)
        status = status or "received"
        if status not in STATUSES:
            raise MalformedRequestError(f"status must be one of {', '.join(STATUSES)}.")
        return None, status

    def _read_page(self, form_id: str, after: str | None, limit: int, status: str) -> SubmissionPage:
        try:
            return self.pages.page(form_id, after=after, limit=limit, status=None if status == "all" else status)
        except StoreUnavailableError as exc:
            raise _unreadable() from exc

    def one(self, form_id: str, submission_id: str) -> dict[str, Any]:
        """One submission as JSON, or NotFoundError."""
        self._form(form_id)
        try:
            found = self.pages.get(form_id, submission_id) if is_submission_id(submission_id) else None
        except StoreUnavailableError as exc:
            raise _unreadable() from exc
        if found is None:
            raise NotFoundError("There is no submission with this id in this form.")
        return submission_json(found)

    def page(self, form_id: str, *, cursor: str | None, limit: str | None, status: str | None) -> dict[str, Any]:
        """A page of submissions, newest first, with the cursor of the next page."""
        self._form(form_id)
        after, status = self._start(cursor, status)
        try:
            size = int(limit) if limit else DEFAULT_LIMIT
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_LIMIT:
            raise MalformedRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        page = self._read_page(form_id, after, size, status)
        return {"form": form_id, "status": status, "submissions": [submission_json(s) for s in page.submissions],
                "nextCursor": encode_cursor(page.last_id, status) if page.last_id else None}

    def csv_chunks(self, form_id: str, *, cursor: str | None = None, status: str | None = None,
                   page_size: int = CSV_PAGE) -> Iterator[tuple[str, str | None]]:
        """The CSV, one chunk per page of submissions (the header first), each with the cursor after it."""
        definition = self._form(form_id)
        after, status = self._start(cursor, status)
        cols = columns(definition)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if cursor is None:
            writer.writerow([header for header, _ in cols])
        while True:
            page = self._read_page(form_id, after, page_size, status)
            for submission in page.submissions:
                writer.writerow([_cell(get(submission)) for _, get in cols])
            chunk = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            yield chunk, encode_cursor(page.last_id, status) if page.last_id else None
            if page.last_id is None:
                return
            after = page.last_id

    def csv(self, form_id: str, *, cursor: str | None = None, status: str | None = None,
            max_bytes: int = CSV_MAX_BYTES, page_size: int = CSV_PAGE) -> CsvExport:
        """The CSV for one response: whole, or cut at a page boundary near max_bytes with a next cursor."""
        parts: list[str] = []
        size = 0
        for chunk, next_cursor in self.csv_chunks(form_id, cursor=cursor, status=status, page_size=page_size):
            parts.append(chunk)
            size += len(chunk.encode("utf-8"))
            if next_cursor is None or size >= max_bytes:
                return CsvExport("".join(parts), next_cursor)
        return CsvExport("".join(parts), None)
