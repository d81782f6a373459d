"""Survey settings: when a survey opens and closes, how many responses it takes, one per address.

A survey that is not open, closed or full answers `403` (FormClosedError) on its page and to
posts; a second response from the same address answers `409` (AlreadyAnsweredError). Nothing is
stored in either case.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .errors import ConflictError, FieldError, FormClosedError, FormloopError, InvalidSubmissionError
from .forms import FormDefinition, parse_instant
from .storage import IdempotencyClaim, StoreResult, Submission
from .storage.surveys import SurveyStore


class SurveyFullError(FormClosedError):
    """The survey has all the responses its owner asked for."""

    TITLE = "Survey full"


class AlreadyAnsweredError(ConflictError):
    """This address has already answered a one-response-per-address survey."""

    TITLE = "Already answered"


def _when(instant: datetime) -> str:
    return instant.strftime("%d %B %Y, %H:%M UTC").lstrip("0")


def normalise_address(address: str) -> str:
    """The form of an address that two spellings of one mailbox share (case and spaces ignored)."""
    return address.strip().lower()


class SurveyGuard:
    """Admits a submission to a survey, or refuses it with a clear error before anything is stored."""

    def __init__(self, store: SurveyStore, default_retention_days: int = 365) -> None:
        self.store = store
        self.default_retention_days = default_retention_days

    @staticmethod
    def check_open(definition: FormDefinition, now: datetime) -> None:
        """Raise FormClosedError if the survey has not opened yet or has closed."""
        opens = parse_instant(definition.settings.get("opens"))
        closes = parse_instant(definition.settings.get("closes"))
        if opens is not None and now < opens:
            raise FormClosedError(f"This survey is not open yet; it opens on {_when(opens)}.")
        if closes is not None and now >= closes:
            raise FormClosedError(f"This survey closed on {_when(closes)}; thank you for your interest.")

    def check_page(self, definition: FormDefinition, now: datetime) -> None:
        """What the survey's page checks before showing the questions: open, and not full."""
        self.check_open(definition, now)
        limit = definition.settings.get("maxResponses")
        if limit is not None and self.store.responses(definition.id) >= int(limit):
            raise SurveyFullError(_full_message())

    def store_admitted(self, definition: FormDefinition, submission: Submission, claim: IdempotencyClaim | None,
                       put: Callable[[Submission, IdempotencyClaim | None], StoreResult]) -> StoreResult:
        """Store a received submission through `put` if the survey's limits admit it; spam skips the limits."""
        settings: dict[str, Any] = definition.settings
        limit = settings.get("maxResponses")
        one_per_email = bool(settings.get("onePerEmail")) and submission.status == "received"
        if submission.status != "received" or (limit is None and not one_per_email):
            return put(submission, claim)
        address_hash = self._address_hash(definition, submission) if one_per_email else None
        if address_hash is not None:
            retention = int(settings.get("retentionDays", self.default_retention_days))
            if not self.store.mark_respondent(definition.id, address_hash, submission.id,
                                              claim.key if claim else None, submission.created_at,
                                              submission.created_at + timedelta(days=retention)):
                raise AlreadyAnsweredError("This email address has already answered this survey; "
                                           "only one response per address is counted.")
        took_place = False
        try:
            if limit is not None:
                took_place = self.store.take_place(definition.id, int(limit))
                if not took_place:
                    raise SurveyFullError(_full_message())
            result = put(submission, claim)
        except FormloopError:
            # Nothing was stored: give back what this attempt took, so it does not count.
            if took_place:
                self.store.give_back_place(definition.id)
            if address_hash is not None:
                self.store.unmark_respondent(definition.id, address_hash, submission.id)
            raise
        if took_place and not result.created:
            self.store.give_back_place(definition.id)  # a replay of a post already counted
        return result

    @staticmethod
    def _address_hash(definition: FormDefinition, submission: Submission) -> str:
        field = definition.respondent_email_field or "email"
        address = submission.answers.get(field) if definition.respondent_email_field else submission.reply_to
        if not isinstance(address, str) or not address.strip():
            raise InvalidSubmissionError([FieldError(field, "is required: this survey takes one response per "
                                                            "email address.")], form_id=definition.id)
        # Hashed: the marker holds no address, so erasing a respondent leaves nothing readable behind.
        return hashlib.sha256(f"{definition.id}\0{normalise_address(address)}".encode()).hexdigest()


def _full_message() -> str:
    return "This survey has all the responses it needs and is now closed; thank you for your interest."
