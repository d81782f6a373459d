"""The spam folder's "not spam": the post moves to the inbox and gets what it was owed when it arrived."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.cases.model import INBOX, SPAM, Case, StatusChange
from chalicelib.cases.reactions import due_time
from chalicelib.cases.service import CaseService, thanks_for
from chalicelib.core.errors import ConflictError, NotFoundError, StorageUnavailableError, StoreUnavailableError
from chalicelib.core.submission import Submission

log = logging.getLogger("formloop.cases")


class StatusChanging(Protocol):
    """What clearing spam needs of the submission store."""

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        ...

    def set_status(self, form: str, submission_id: str, status: str, *, expected: str,
                   feedback_kind: str | None = None, expires_at: datetime | None = None) -> bool:
        """Change a submission's status (and kind) from `expected`; False when it is gone or has another."""
        ...


class SpamFolder:
    """Clears spam: the stored submission becomes received, its case moves to the inbox (due from now), and the
    consumers a new post meets run for it (acknowledgement, gift link, results, webhooks), then `cleared`."""

    def __init__(self, cases: CaseService, submissions: StatusChanging,
                 consumers: Callable[[Submission], list[Exception]],
                 cleared: Callable[[Submission], None] | None = None, default_retention_days: int = 365) -> None:
        self.cases = cases
        self.submissions = submissions
        self.consumers = consumers  # jobs.dispatch over Services.consumers: each runs, one failing stops none
        self.cleared = cleared  # the `submission.spam_cleared` webhook event
        self.default_retention_days = default_retention_days

    def not_spam(self, form: str, submission_id: str, who: str) -> Case:
        """Move a spam post to the inbox and run what it was owed; ConflictError if it is not in the spam folder."""
        case = self.cases.get(form, submission_id)
        if case.folder != SPAM:
            raise ConflictError("This submission is not in the spam folder (someone may have moved it already).")
        definition = self.cases.forms.get(form)
        try:
            stored = self.submissions.get(form, submission_id)
            # Spam is stored without a kind of feedback: the post gets the one its answers name.
            kind = definition.feedback_kind(stored.answers) if stored is not None and definition else None
            # Kept as long as the form keeps what it receives, no longer as briefly as spam.
            days = int((definition.settings if definition else {}).get("retentionDays", self.default_retention_days))
            keep = stored.created_at + timedelta(days=days) if stored is not None else None
            changed = self.submissions.set_status(form, submission_id, "received", expected="spam",
                                                  feedback_kind=kind, expires_at=keep)
            submission = self.submissions.get(form, submission_id)
        except StoreUnavailableError as exc:
            raise StorageUnavailableError("Submissions cannot be changed right now; please try again in a "
                                          "minute.") from exc
        if submission is None:
            raise NotFoundError("The submission was deleted, so it cannot be moved to the inbox.")
        if not changed and submission.status != "received":
            raise ConflictError("This submission's status changed meanwhile; reload the page and try again.")
        moved = self._moved(case, submission.feedback_kind, who)
        failures = self.consumers(submission)
        if failures:  # its delivery records and counters are idempotent: the case page's resend, or a retry, ends it
            log.warning("%s/%s moved to the inbox; %d consumers failed", form, submission_id, len(failures))
        if self.cleared is not None and changed:
            self.cleared(submission)
        return moved

    def _moved(self, case: Case, kind: str | None, who: str) -> Case:
        now = self.cases.clock()
        definition = self.cases.forms.get(case.form)
        settings = definition.settings if definition is not None else {}
        # The client waited unseen; the owner's reaction time counts from when the post reached the inbox.
        inbox = replace(case, kind=kind, folder=INBOX, due_at=due_time(settings, kind, now),
                        history=[*case.history, StatusChange(now, who, case.status, case.status,
                                                             "not spam: moved to the inbox")])
        thanks = thanks_for(definition, replace(inbox, created_at=now))
        if thanks is not None and all(letter.kind != thanks.kind for letter in inbox.letters):
            inbox.letters = [*inbox.letters, thanks]
        return self.cases.save(inbox)
