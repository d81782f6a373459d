"""Survey admission in DynamoDB: a response counter per form and one marker per respondent address.

Both are conditional writes (never read-then-write), so two respondents racing for the last place,
or one respondent double-posting from two tabs, cannot both get in.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PynamoDBException, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from ..config import Settings
from ..errors import StorageUnavailableError
from .base import bind_model, create_tables, error_code

RESPONSES = "responses"


class SurveyRecord(Model):
    """A survey's response counter ("responses") or a respondent marker ("email#<sha256>")."""

    class Meta:
        table_name = "unbound-surveys"

    form = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    taken = NumberAttribute(null=True)  # responses counted (on the "responses" item)
    attempt = UnicodeAttribute(null=True)  # the submission id that placed the marker
    claim = UnicodeAttribute(null=True)  # the idempotency key of that post, so a replay is not a second response
    created_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def _unavailable(exc: Exception) -> StorageUnavailableError:
    return StorageUnavailableError(
        "Your answers could not be saved just now and nothing was stored; please send them again.")


def _condition_failed(exc: PynamoDBException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


class SurveyStore:
    """Conditional writes that admit a response to a survey, and their undoing if the store fails."""

    def __init__(self, settings: Settings) -> None:
        self.records: type[SurveyRecord] = bind_model(SurveyRecord, settings, "surveys")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.records]

    def create_tables(self) -> None:
        """Create the table (and its TTL) if it does not exist; safe to call again."""
        create_tables(self.models)

    def take_place(self, form: str, limit: int) -> bool:
        """Count one more response if fewer than `limit` were counted; False when the survey is full."""
        record = self.records(form, RESPONSES)
        try:
            record.update(actions=[self.records.taken.add(1)],
                          condition=self.records.taken.does_not_exist() | (self.records.taken < limit))
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise _unavailable(exc) from exc
        return True

    def give_back_place(self, form: str) -> None:
        """Undo take_place (the submission was not stored, or was a replay of one already counted)."""
        try:
            self.records(form, RESPONSES).update(actions=[self.records.taken.add(-1)],
                                                 condition=self.records.taken > 0)
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise _unavailable(exc) from exc

    def responses(self, form: str) -> int:
        """How many responses were counted (one GetItem)."""
        try:
            return int(self.records.get(form, RESPONSES, consistent_read=True).taken or 0)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    def mark_respondent(self, form: str, address_hash: str, attempt: str, claim: str | None,
                        now: datetime, expires: datetime) -> bool:
        """Record that this address answered; False if it already had (a replay of the same post is allowed)."""
        r = self.records
        condition = r.key.does_not_exist()
        # A replay (same idempotency key) passes, but keeps the first attempt's marker as it was, so
        # undoing the replay cannot remove the mark of the response that was stored.
        actions: list[Action] = [r.attempt.set(r.attempt | attempt),
                                 r.created_at.set(r.created_at | int(now.timestamp())),
                                 r.expires_at.set(r.expires_at | expires)]
        if claim:
            condition = condition | (r.claim == claim)
            actions.append(r.claim.set(r.claim | claim))
        try:
            r(form, f"email#{address_hash}").update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise _unavailable(exc) from exc
        return True

    def unmark_respondent(self, form: str, address_hash: str, attempt: str) -> None:
        """Undo mark_respondent, only if the marker is still this attempt's."""
        try:
            self.records(form, f"email#{address_hash}").delete(condition=self.records.attempt == attempt)
        except DeleteError as exc:
            if not _condition_failed(exc):
                raise _unavailable(exc) from exc
