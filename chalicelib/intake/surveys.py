"""Survey settings: when a survey opens and closes, how many responses it takes, one per address.

A survey that is not open, closed or full answers `403` (FormClosedError) on its page and to
posts; a second response from the same address answers `409` (AlreadyAnsweredError). Nothing is
stored in either case: the limits are conditions of the one transaction that stores a response.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.addresses import normalise_address
from chalicelib.core.errors import (
    ConflictError,
    FieldError,
    FormClosedError,
    InvalidSubmissionError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, parse_instant
from chalicelib.intake.ports import SurveyStorage

if TYPE_CHECKING:
    from chalicelib.intake.admission import Admission, Release


class SurveyFullError(FormClosedError):
    """The survey has all the responses its owner asked for."""

    TITLE = "Survey full"


class AlreadyAnsweredError(ConflictError):
    """This address has already answered a one-response-per-address survey."""

    TITLE = "Already answered"


def _when(instant: datetime) -> str:
    return instant.strftime("%d %B %Y, %H:%M UTC").lstrip("0")


class SurveyGuard:
    """Admits a submission to a survey, or refuses it with a clear error before anything is stored."""

    def __init__(self, store: SurveyStorage, default_retention_days: int = 365) -> None:
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
        if limit is None:
            return
        try:
            taken = self.store.responses(definition.id)
        except StoreUnavailableError as exc:
            raise StorageUnavailableError(
                "This survey cannot be shown just now; please try again in a few seconds.") from exc
        if taken >= int(limit):
            raise SurveyFullError(_full_message())

    def admissions(self, definition: FormDefinition, submission: Submission) -> list[Admission]:
        """What admits a received submission to this survey, written in the same transaction as it: one response
        per address, then the response limit. Spam is not counted."""
        settings: dict[str, Any] = definition.settings
        if submission.status != "received" or not (settings.get("onePerEmail") or "maxResponses" in settings):
            return []
        # Imported here: a post to a form without survey limits never loads the admissions (a cold start).
        from chalicelib.intake.admission import MarkRespondent, TakePlace
        admissions: list[Admission] = []
        if settings.get("onePerEmail"):
            retention = int(settings.get("retentionDays", self.default_retention_days))
            admissions.append(MarkRespondent(
                definition.id, self._address_hash(definition, submission), submission.id, submission.created_at,
                submission.created_at + timedelta(days=retention),
                AlreadyAnsweredError("This email address has already answered this survey; "
                                     "only one response per address is counted.")))
        limit = settings.get("maxResponses")
        if limit is not None:
            admissions.append(TakePlace(definition.id, int(limit), SurveyFullError(_full_message())))
        return admissions

    def releases(self, definition: FormDefinition, submission: Submission) -> list[Release]:
        """What deleting a received response gives back: the address marker if it placed it, and its place."""
        settings: dict[str, Any] = definition.settings
        if submission.status != "received":
            return []
        from chalicelib.intake.admission import GiveBackPlace, UnmarkRespondent
        releases: list[Release] = []
        if settings.get("onePerEmail"):
            try:
                address_hash = self._address_hash(definition, submission)
            except InvalidSubmissionError:  # stored before the survey took one response per address
                address_hash = None
            if address_hash:
                releases.append(UnmarkRespondent(definition.id, address_hash, submission.id))
        if settings.get("maxResponses") is not None:
            releases.append(GiveBackPlace(definition.id))
        return releases

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
