"""Survey admission in DynamoDB: a response counter per form and one marker per respondent address.

Both are conditional updates written in the same transaction as the submission they admit (never
read-then-write, never undone afterwards): two respondents racing for the last place, or one
respondent double-posting from two tabs, cannot both get in, and a post that is refused or fails
takes no place and marks no address.
"""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError
from chalicelib.intake.admission import GiveBackPlace, MarkRespondent, TakePlace, UnmarkRespondent

from .base import ConditionalWrite, bind_model

RESPONSES = "responses"


class SurveyRecord(Model):
    """A survey's response counter ("responses") or a respondent marker ("email#<sha256>")."""

    class Meta:
        table_name = "unbound-surveys"

    form = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    taken = NumberAttribute(null=True)  # responses counted (on the "responses" item)
    attempt = UnicodeAttribute(null=True)  # the submission id that placed the marker
    created_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def _marker(address_hash: str) -> str:
    return f"email#{address_hash}"


class SurveyStore:
    """The conditional updates that admit a response to a survey (written with it) or give back its admission
    (written with its deletion)."""

    def __init__(self, settings: Settings) -> None:
        self.records: type[SurveyRecord] = bind_model(SurveyRecord, settings, "surveys")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.records]

    def take_place(self, intent: TakePlace) -> ConditionalWrite:
        """One more response counted, only while fewer than the limit were."""
        r = self.records
        return ConditionalWrite(record=r(intent.form, RESPONSES), actions=[r.taken.add(1)],
                                condition=r.taken.does_not_exist() | (r.taken < intent.limit))

    def mark_respondent(self, intent: MarkRespondent) -> ConditionalWrite:
        """This address's marker, only if it has none yet (an idempotent replay never gets this far)."""
        r = self.records
        return ConditionalWrite(record=r(intent.form, _marker(intent.address_hash)),
                                actions=[r.attempt.set(intent.submission_id),
                                         r.created_at.set(int(intent.created_at.timestamp())),
                                         r.expires_at.set(intent.expires_at)],
                                condition=r.key.does_not_exist())

    def give_back_place(self, intent: GiveBackPlace) -> ConditionalWrite:
        """One response fewer (the submission counted is being deleted)."""
        r = self.records
        return ConditionalWrite(record=r(intent.form, RESPONSES), actions=[r.taken.add(-1)], condition=r.taken > 0)

    def unmark_respondent(self, intent: UnmarkRespondent) -> ConditionalWrite | None:
        """The address marker's removal if this very submission placed it (so the address may answer again); None
        if it did not, as a condition that cannot hold would cancel the whole deletion. Still conditioned on it,
        in case the marker changes between this read and the deletion."""
        r = self.records
        try:
            marker = r.get(intent.form, _marker(intent.address_hash), consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"the marker of {intent.form} could not be read") from exc
        if marker.attempt != intent.submission_id:
            return None
        return ConditionalWrite(record=r(intent.form, _marker(intent.address_hash)), actions=None,
                                condition=r.attempt == intent.submission_id)

    def responses(self, form: str) -> int:
        """How many responses were counted (one GetItem)."""
        try:
            return int(self.records.get(form, RESPONSES, consistent_read=True).taken or 0)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"the response count of {form} could not be read") from exc
