"""Deleting one submission, and what was derived from it: its share of the results, its survey place
and address marker, and the emails it was still owed.

The steps are each safe to repeat, and the submission itself goes last, in one transaction with
the survey's give-backs (conditioned on it still existing), so a deletion that fails midway is
simply sent again. A gift already issued for the submission stays issued (revoke it with the CLI). The
submission's stored webhook events (they carry its answers, for retries and replays) go too, and its case's
(`case.replied` carries the text of a reply).
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.cases.store import CaseStore
from chalicelib.core.errors import NotFoundError, StorageUnavailableError, StoreError
from chalicelib.core.ids import is_submission_id
from chalicelib.forms.definitions import FormRegistry
from chalicelib.intake.ports import SubmissionStorage
from chalicelib.intake.surveys import SurveyGuard
from chalicelib.mail.store import DeliveryStore
from chalicelib.reporting.results import ResultsService
from chalicelib.webhooks.events import SUBMISSION_EVENT_TYPES, case_event_ids, submission_event
from chalicelib.webhooks.store import WebhookStore


@dataclass
class SubmissionRemoval:
    """Deletes submissions for admins (DELETE /admin/forms/{form}/submissions/{id})."""

    forms: FormRegistry
    store: SubmissionStorage
    surveys: SurveyGuard
    results: ResultsService | None = None
    deliveries: DeliveryStore | None = None
    cases: CaseStore | None = None  # the submission's case: its address and the replies to it go too
    webhooks: WebhookStore | None = None  # stored events of the submission, answers included

    def delete(self, form_id: str, submission_id: str) -> None:
        """Delete one submission and what was derived from it; NotFoundError if there is no such submission."""
        definition = self.forms.get(form_id)
        known = definition is not None and is_submission_id(submission_id)
        try:
            submission = self.store.get(form_id, submission_id) if known else None
        except StoreError as exc:
            raise _not_deleted() from exc
        if definition is None or submission is None:
            raise NotFoundError("There is no submission with this id in this form.")
        try:  # each step is safe to repeat: a failure midway leaves a deletion to send again
            if self.results is not None:
                self.results.forget(submission)
            if self.deliveries is not None:
                self.deliveries.delete_for(form_id, submission_id)
            case = self.cases.get(form_id, submission_id) if self.cases is not None else None
            if self.webhooks is not None:
                event_ids = [submission_event(submission, event_type).id for event_type in SUBMISSION_EVENT_TYPES]
                for event_id in event_ids + (case_event_ids(case) if case is not None else []):
                    self.webhooks.delete_event(form_id, event_id)
            if self.cases is not None:
                self.cases.delete(form_id, submission_id)
            deleted = self.store.delete(form_id, submission_id, self.surveys.releases(definition, submission))
        except StoreError as exc:  # unavailable, or a give-back that no longer holds: the submission is still there
            raise _not_deleted() from exc
        if not deleted:
            raise NotFoundError("There is no submission with this id in this form.")


def _not_deleted() -> StorageUnavailableError:
    return StorageUnavailableError("The submission could not be deleted just now; please try again.")
