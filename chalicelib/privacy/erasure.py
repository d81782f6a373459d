"""Everything Formloop holds about one email address, exported or erased (POST /admin/addresses/…).

Submissions are found by their respondent address or `_replyto`, compared as every other part of
Formloop compares addresses (`normalise_address`: case, `+tags` and Gmail's dots ignored), since a
person asking is the owner of a mailbox, and every spelling that reaches it is theirs. They are read
from the submissions table's sparse address indexes (storage/address_index.py), then each by its key:
the work of a request grows with that address's submissions, not with the table. One call works for
a few seconds at most and answers with a `cursor` to continue from, until the cursor is null.
Erasing deletes each submission with what was derived from it (SubmissionRemoval). What stays: gift
records, which hold only a hash of the address, and the per-day acknowledgement guard (a hash, gone
within two days).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.core.addresses import normalise_address
from chalicelib.core.cursor import decode_cursor, encode_cursor
from chalicelib.core.errors import MalformedRequestError, StorageUnavailableError, StoreUnavailableError
from chalicelib.core.ids import is_submission_id
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FORM_ID
from chalicelib.intake.ports import SubmissionStorage
from chalicelib.privacy.removal import SubmissionRemoval
from chalicelib.reporting.exports import submission_json

PAGE = 200


CURSOR_MESSAGE = "This cursor is not one Formloop gave out; start again without it."


# The indexes read, in turn: the respondent's address, then a `_replyto` that reaches another mailbox.
INDEXES = ("by-address", "by-reply-address")


def _encode(index: str, start: tuple[str, str]) -> str:
    return encode_cursor({"in": index, "form": start[0], "after": start[1]})


def _decode(text: str) -> tuple[str, tuple[str, str]]:
    position = decode_cursor(text, {"in": INDEXES.__contains__, "form": lambda form: bool(FORM_ID.match(form)),
                                    "after": is_submission_id}, CURSOR_MESSAGE)
    return position["in"], (position["form"], position["after"])


@dataclass
class AddressRequests:
    """Export or erase what is stored about one address, a time-bounded slice of the table per call."""

    store: SubmissionStorage
    removal: SubmissionRemoval
    budget_seconds: float = 8.0
    clock: Callable[[], float] = time.monotonic

    def export(self, email: str, cursor: str | None) -> dict[str, Any]:
        """The submissions from this address in the slice read, and where to continue."""
        address = self._address(email)
        found: list[dict[str, Any]] = []
        next_cursor = self._walk(address, cursor, lambda submission: found.append(submission_json(submission)))
        return {"email": address, "submissions": found, "cursor": next_cursor}

    def erase(self, email: str, cursor: str | None) -> dict[str, Any]:
        """Delete the submissions from this address in the slice read (each with what was derived from it)."""
        address = self._address(email)
        erased: list[str] = []

        def remove(submission: Submission) -> None:
            self.removal.delete(submission.form, submission.id)
            erased.append(f"{submission.form}/{submission.id}")

        next_cursor = self._walk(address, cursor, remove)
        return {"email": address, "erased": erased, "cursor": next_cursor}

    @staticmethod
    def _address(email: str) -> str:
        # A key to look for, not an address to mail: one stored before today's stricter checks (e.g.
        # `ann..lee@example.com`) must still be found and erased.
        address = normalise_address(email or "")
        local, _, domain = address.rpartition("@")
        if not local or not domain or len(address) > 254 or not address.isprintable() or " " in address:
            raise MalformedRequestError("Give the email address to look for, like name@example.com, as `email`.")
        return address

    def _walk(self, address: str, cursor: str | None, act: Callable[[Submission], None]) -> str | None:
        deadline = self.clock() + self.budget_seconds
        index, start = _decode(cursor) if cursor else (INDEXES[0], None)
        while True:
            try:
                page, start = self.store.by_address(index, address, start, PAGE)
            except StoreUnavailableError as exc:
                raise StorageUnavailableError("The submissions could not be read just now; please try again.") from exc
            for submission in page:
                act(submission)
            if start is None:
                if index == INDEXES[-1]:
                    return None
                index = INDEXES[INDEXES.index(index) + 1]
                continue  # the next index from its beginning
            if self.clock() >= deadline:
                return _encode(index, start)
