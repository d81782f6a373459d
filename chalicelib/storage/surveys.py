"""Survey admission in DynamoDB: a response counter per form and one marker per respondent address.

Both are conditional updates written in the same transaction as the submission they admit (never
read-then-write, never undone afterwards): two respondents racing for the last place, or one
respondent double-posting from two tabs, cannot both get in, and a post that is refused or fails
takes no place and marks no address.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError

if TYPE_CHECKING:
    from chalicelib.intake.admission import GiveBackPlace, MarkRespondent, TakePlace, UnmarkRespondent

    from .admission_records import SurveyRecord
    from .base import ConditionalWrite

RESPONSES = "responses"


def _marker(address_hash: str) -> str:
    return f"email#{address_hash}"


class SurveyStore:
    """The conditional updates that admit a response to a survey (written with it) or give back its admission
    (written with its deletion)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def records(self) -> type[SurveyRecord]:
        """The survey items' model bound to this deployment's table (PynamoDB is imported on first need)."""
        from .admission_records import SurveyRecord
        from .base import bind_model
        return bind_model(SurveyRecord, self.settings, "surveys")  # type: ignore[return-value]

    @property
    def models(self) -> list[type[Any]]:
        return [self.records]

    def take_place(self, intent: TakePlace) -> ConditionalWrite:
        """One more response counted, only while fewer than the limit were."""
        from .base import ConditionalWrite
        r = self.records
        return ConditionalWrite(record=r(intent.form, RESPONSES), actions=[r.taken.add(1)],
                                condition=r.taken.does_not_exist() | (r.taken < intent.limit))

    def mark_respondent(self, intent: MarkRespondent) -> ConditionalWrite:
        """This address's marker, only if it has none yet (an idempotent replay never gets this far)."""
        from .base import ConditionalWrite
        r = self.records
        return ConditionalWrite(record=r(intent.form, _marker(intent.address_hash)),
                                actions=[r.attempt.set(intent.submission_id),
                                         r.created_at.set(int(intent.created_at.timestamp())),
                                         r.expires_at.set(intent.expires_at)],
                                condition=r.key.does_not_exist())

    def give_back_place(self, intent: GiveBackPlace) -> ConditionalWrite:
        """One response fewer (the submission counted is being deleted)."""
        from .base import ConditionalWrite
        r = self.records
        return ConditionalWrite(record=r(intent.form, RESPONSES), actions=[r.taken.add(-1)], condition=r.taken > 0)

    def unmark_respondent(self, intent: UnmarkRespondent) -> ConditionalWrite | None:
        """The address marker's removal if this very submission placed it (so the address may answer again); None
        if it did not, as a condition that cannot hold would cancel the whole deletion. Still conditioned on it,
        in case the marker changes between this read and the deletion."""
        from pynamodb.exceptions import DoesNotExist, PynamoDBException

        from .base import ConditionalWrite
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
        from pynamodb.exceptions import DoesNotExist, PynamoDBException
        try:
            return int(self.records.get(form, RESPONSES, consistent_read=True).taken or 0)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise StoreUnavailableError(f"the response count of {form} could not be read") from exc
