"""Survey admission in DynamoDB: a response counter per form and one marker per respondent address.

Both are conditional updates written in the same transaction as the submission they admit (never
read-then-write, never undone afterwards): two respondents racing for the last place, or one
respondent double-posting from two tabs, cannot both get in, and a post that is refused or fails
takes no place and marks no address.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import FormloopError, StorageUnavailableError

from .base import Admission, Release, bind_model

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


class SurveyStore:
    """The conditional updates that admit a response to a survey (written with it) or give back its admission
    (written with its deletion)."""

    def __init__(self, settings: Settings) -> None:
        self.records: type[SurveyRecord] = bind_model(SurveyRecord, settings, "surveys")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.records]


    def count_response(self, form: str, limit: int, refusal: FormloopError) -> Admission:
        """One more response counted, only while fewer than `limit` were."""
        r = self.records
        return Admission(record=r(form, RESPONSES), actions=[r.taken.add(1)],
                         condition=r.taken.does_not_exist() | (r.taken < limit), refusal=refusal)

    def mark_respondent(self, form: str, address_hash: str, attempt: str, now: datetime, expires: datetime,
                        refusal: FormloopError) -> Admission:
        """This address's marker, only if it has none yet (an idempotent replay never gets this far)."""
        r = self.records
        return Admission(record=r(form, f"email#{address_hash}"),
                         actions=[r.attempt.set(attempt), r.created_at.set(int(now.timestamp())),
                                  r.expires_at.set(expires)],
                         condition=r.key.does_not_exist(), refusal=refusal)

    def release_response(self, form: str) -> Release:
        """One response fewer (the submission counted is being deleted)."""
        r = self.records
        return Release(record=r(form, RESPONSES), actions=[r.taken.add(-1)], condition=r.taken > 0)

    def release_respondent(self, form: str, address_hash: str, attempt: str) -> Release | None:
        """The address marker removed if this very submission placed it (so the address may answer again);
        None if it did not. Conditioned on that, in case the marker changes before the deletion."""
        r = self.records
        try:
            marker = r.get(form, f"email#{address_hash}", consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StorageUnavailableError("The submission could not be deleted just now; please try again.") from exc
        if marker.attempt != attempt:
            return None
        return Release(record=r(form, f"email#{address_hash}"), actions=None, condition=r.attempt == attempt)

    def responses(self, form: str) -> int:
        """How many responses were counted (one GetItem)."""
        try:
            return int(self.records.get(form, RESPONSES, consistent_read=True).taken or 0)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise StorageUnavailableError(
                "This survey cannot be shown just now; please try again in a few seconds.") from exc
