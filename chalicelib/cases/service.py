"""The case service: a case for every stored submission, the inbox, status changes and replies, attributed."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from ulid import ULID

from chalicelib.cases.letters import render_letter
from chalicelib.cases.model import (
    ANSWERED,
    CASE_REPLIED,
    CASE_RESOLVED,
    DECISION,
    DECISIONS,
    FINAL_STATUSES,
    FIXED,
    INBOX,
    NEW,
    RESOLVED,
    SPAM,
    STATUSES,
    THANKS,
    WAITING_STATUSES,
    Case,
    CaseUpdate,
    InboxPage,
    InboxQuery,
    Letter,
    Reply,
    StatusChange,
)
from chalicelib.cases.reactions import due_time, praise_delay
from chalicelib.cases.replies import render_reply
from chalicelib.cases.store import CaseStore
from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.errors import (
    ConditionFailedError,
    ConflictError,
    MalformedRequestError,
    NotFoundError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.ids import is_submission_id
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FORM_ID, FormDefinition, FormRegistry

if TYPE_CHECKING:
    from chalicelib.mail.content import Email
    from chalicelib.mail.delivery import DeliveryService, PlannedEmail

log = logging.getLogger("formloop.cases")

MAX_REPLY_CHARS = 10_000
MAX_NOTE_CHARS = 500
PAGE_SIZE = 25
SYSTEM = "formloop"  # who the changes Formloop makes by itself are attributed to


def thanks_for(definition: FormDefinition | None, case: Case) -> Letter | None:
    """The praise thank-you a case in the inbox is owed (after the form's delay), or None."""
    if case.kind != "praise" or case.folder != INBOX or not case.respondent:
        return None
    delay = praise_delay(definition.settings if definition is not None else {})
    # The submission's id names it: opening the case again (a consumer run twice) owes the same letter.
    return Letter(case.submission_id, THANKS, case.created_at, SYSTEM, case.created_at + delay)


def case_of(definition: FormDefinition | None, submission: Submission) -> Case:
    """The case a newly stored submission opens: status new, due by its kind's reaction, in the spam folder if spam."""
    settings = definition.settings if definition is not None else {}
    spam = submission.status == "spam"
    case = Case(form=submission.form, submission_id=submission.id, kind=submission.feedback_kind, status=NEW,
                folder=SPAM if spam else INBOX, created_at=submission.created_at,
                due_at=None if spam else due_time(settings, submission.feedback_kind, submission.created_at),
                respondent=submission.respondent_email, language=submission.language,
                source=submission.source_label or submission.origin)
    thanks = thanks_for(definition, case)
    if thanks is not None:
        case.letters.append(thanks)
    return case


class CaseService:
    """Opens a case per submission (a post-write consumer), lists the inbox, changes statuses and sends replies."""

    def __init__(self, forms: FormRegistry, store: CaseStore, load: Callable[[str, str], Submission | None],
                 clock: Clock = utcnow) -> None:
        self.forms = forms
        self.store = store
        self.load = load  # reads a submission back (its answers are shown, never copied into the case)
        self.clock = clock
        self.delivery: DeliveryService | None = None  # set by the wiring when this deployment sends email
        # Told of each reply and resolution once it is stored: chalicelib/wiring.py hands them to webhooks.
        self.on_change: Callable[[CaseUpdate], None] | None = None

    def __call__(self, submission: Submission) -> None:
        """The consumer: open the submission's case unless it has one, and book its later letters (safe again)."""
        opened = case_of(self.forms.get(submission.form), submission)
        case: Case | None = opened
        if self.store.create(opened):
            log.info("case opened for %s/%s", submission.form, submission.id)
        else:  # seen before, or moved out of the spam folder since: its letters are the stored ones
            case = self.store.get(submission.form, submission.id)
        if case is not None:
            self.book_letters(case, submission)

    def book_letters(self, case: Case, submission: Submission) -> None:
        """Put the case's letters that are not due yet on the delivery service's waiting list, due when they are.

        The waiting list's rounds (`DeliveryService.retry_due`, on the email schedule) then send each at its time;
        a letter already due is sent now.
        """
        if self.delivery is None or not case.respondent:
            return
        now = self.clock()
        later = [letter for letter in case.letters if letter.send_after > now]
        for letter in later:
            record = self.delivery.store.ensure(case.form, case.submission_id, letter.delivery_kind,
                                                [case.respondent], now)
            if record.status == "pending" and record.retry_at is None and record.attempts == 0:
                self.delivery.store.postpone(record, now, letter.send_after, "waits until it is due")
        if len(later) < len(case.letters):
            self._deliver(submission)

    def inbox(self, query: InboxQuery, after: str | None = None, limit: int = PAGE_SIZE) -> InboxPage:
        """One page of cases, overdue first."""
        return self._reading(lambda: self.store.page(query, self.clock(), limit, after))

    def get(self, form: str, submission_id: str) -> Case:
        """One case; NotFoundError when there is none (ids Formloop could not have given out are not looked up)."""
        case = None
        if FORM_ID.match(form) and is_submission_id(submission_id):
            case = self._reading(lambda: self.store.get(form, submission_id))
        if case is None:
            raise NotFoundError(f"There is no case for submission {submission_id} of form {form}.")
        return case

    def submission(self, case: Case) -> Submission | None:
        """The submission a case is about (None once it was deleted or expired)."""
        return self._reading(lambda: self.load(case.form, case.submission_id))

    def change_status(self, form: str, submission_id: str, status: str, who: str, note: str = "",
                      version: int | None = None) -> Case:
        """Move a case to `status`, recorded with who and when; ConflictError if it changed since `version`."""
        if status not in STATUSES:
            raise MalformedRequestError(f"Status must be one of {', '.join(STATUSES)}.")
        if len(note) > MAX_NOTE_CHARS:
            raise MalformedRequestError(f"A note is at most {MAX_NOTE_CHARS} characters.")
        case = self.get(form, submission_id)
        self._same_version(case, version)
        if case.status == status:
            return case
        changed = self._moved(case, status, who, note.strip())
        asks = status == RESOLVED and case.kind == "complaint" and case.folder == INBOX and bool(case.respondent)
        if asks:  # the client is asked whether it is fixed, once per resolution
            now = self.clock()
            changed = replace(changed, letters=[*changed.letters, Letter(str(ULID.from_datetime(now)), FIXED, now,
                                                                         who, now)])
        stored = self._write(changed)
        if asks:
            self._deliver_for(stored)
        if case.status not in FINAL_STATUSES:  # moving between resolved and closed resolves nothing anew
            self._resolved(stored, note=note.strip())
        return stored

    def reply(self, form: str, submission_id: str, text: str, who: str, version: int | None = None) -> Case:
        """Record the owner's reply and email it to the respondent (delivery records, retries, outbox)."""
        text = text.strip()
        if not text:
            raise MalformedRequestError("Write a reply before sending it.")
        if len(text) > MAX_REPLY_CHARS:
            raise MalformedRequestError(f"A reply is at most {MAX_REPLY_CHARS} characters.")
        if self.delivery is None:
            raise NotFoundError("This server sends no email, so a reply cannot be sent from here.")
        case = self.get(form, submission_id)
        self._same_version(case, version)
        if not case.respondent:
            raise ConflictError("This submission gave no email address, so there is nobody to reply to.")
        if case.folder == SPAM:
            raise ConflictError("This submission is in the spam folder; move it to the inbox before replying.")
        submission = self.submission(case)
        if submission is None:
            raise NotFoundError("The submission was deleted, so its case can no longer be answered.")
        now = self.clock()
        changed = replace(case, replies=[*case.replies, Reply(str(ULID.from_datetime(now)), now, who, text)])
        if case.status in WAITING_STATUSES:
            changed = self._moved(changed, ANSWERED, who, "replied")
        stored = self._write(changed)
        self._deliver(submission)
        self._tell(CaseUpdate(CASE_REPLIED, stored, reply=changed.replies[-1]))
        return stored

    def decide(self, form: str, submission_id: str, decision: str, note: str, who: str,
               version: int | None = None) -> Case:
        """Record an idea's decision (accepted or declined, with a note), resolve it, and tell the client."""
        if decision not in DECISIONS:
            raise MalformedRequestError(f"The decision must be one of {', '.join(DECISIONS)}.")
        note = self._note(note)
        case = self.get(form, submission_id)
        self._same_version(case, version)
        if case.kind != "idea":
            raise ConflictError("Only an idea gets a decision; this case is not one.")
        if case.folder == SPAM:
            raise ConflictError("This submission is in the spam folder; move it to the inbox first.")
        now = self.clock()
        changed = replace(case, letters=[*case.letters, Letter(str(ULID.from_datetime(now)), DECISION, now, who,
                                                                now, decision, note)] if case.respondent
                          else case.letters)
        stored = self._write(self._moved(changed, RESOLVED, who, f"{decision}: {note}" if note else decision))
        self._deliver_for(stored)
        self._resolved(stored, decision, note)  # each decision, a changed one too, is news to other systems
        return stored

    def record_outcome(self, form: str, submission_id: str, outcome: str, who: str,
                       version: int | None = None) -> Case:
        """Record what came of contacting a referral's lead, and resolve the case."""
        outcome = self._note(outcome)
        if not outcome:
            raise MalformedRequestError("Write the outcome before recording it.")
        case = self.get(form, submission_id)
        self._same_version(case, version)
        if case.kind != "referral":
            raise ConflictError("Only a referral has an outcome; this case is not one.")
        stored = self._write(self._moved(replace(case, outcome=outcome), RESOLVED, who, outcome))
        self._resolved(stored, note=outcome)
        return stored

    def resend(self, form: str, submission_id: str, kind: str, who: str) -> Case:
        """Give an email that failed or was skipped a new attempt through the delivery service; noted in the
        case's history as who asked for it."""
        if self.delivery is None:
            raise NotFoundError("This server sends no email, so nothing can be resent from here.")
        case = self.get(form, submission_id)
        if case.folder == SPAM:
            raise ConflictError("This submission is in the spam folder; move it to the inbox before resending.")
        record = self.delivery.store.get(form, submission_id, kind) if 0 < len(kind) <= 100 else None
        if record is None:
            raise NotFoundError("This submission has no such email.")
        now = self.clock()
        if not self.delivery.store.reopen(record, now, f"resent by {who}"):
            raise ConflictError("Only an email that failed or was skipped can be resent; reload the page.")
        self._deliver_for(case)  # reopened: it goes now whatever happens to the note below
        label = "reply" if kind.startswith("reply-") else kind.split("-")[0]
        return self._write(replace(case, history=[*case.history, StatusChange(now, who, case.status, case.status,
                                                                              f"resent the {label}")]))

    def _resolved(self, case: Case, decision: str | None = None, note: str = "") -> None:
        """Tell of a case whose latest status change put it in a final status."""
        change = case.history[-1] if case.history else None
        if change is not None and change.new in FINAL_STATUSES:
            self._tell(CaseUpdate(CASE_RESOLVED, case, change=change, decision=decision, note=note))

    def _tell(self, update: CaseUpdate) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(update)
        except Exception:  # the owner's reply or resolution is stored already: a listener's failure undoes nothing
            log.exception("%s for %s/%s not told", update.type, update.case.form, update.case.submission_id)

    def _deliver_for(self, case: Case) -> None:
        submission = self.submission(case)
        if submission is not None:
            self._deliver(submission)

    def _deliver(self, submission: Submission) -> None:
        if self.delivery is None:
            return
        from chalicelib.mail.delivery import DeliveryPendingError
        try:
            self.delivery.deliver(submission)
        except DeliveryPendingError:
            pass  # another worker is sending; the pending record is sent by it or a later round

    @staticmethod
    def _note(note: str) -> str:
        if len(note) > MAX_NOTE_CHARS:
            raise MalformedRequestError(f"A note is at most {MAX_NOTE_CHARS} characters.")
        return note.strip()

    def planned_replies(self, definition: FormDefinition, submission: Submission) -> list[PlannedEmail]:
        """The case's replies and due letters, for the delivery service's plan (so they share its records and
        retries); a letter not due yet is left out (its record waits on the waiting list)."""
        from chalicelib.mail.delivery import PlannedEmail
        try:
            case = self.store.get(submission.form, submission.id)
        except StoreUnavailableError:
            log.warning("case of %s/%s unreadable: its replies wait for the next round", submission.form,
                        submission.id)
            return []

        if case is None or not submission.respondent_email or self.delivery is None:
            return []
        sender, now, to = self.delivery.mail.sender, self.clock(), [submission.respondent_email]

        def renderer(reply: Reply) -> Callable[[], Email]:
            return lambda: render_reply(definition, submission, reply, sender)

        def letter_renderer(letter: Letter) -> Callable[[], Email]:
            return lambda: render_letter(definition, submission, letter, sender)

        return [*(PlannedEmail(reply.delivery_kind, to, renderer(reply)) for reply in case.replies),
                *(PlannedEmail(letter.delivery_kind, to, letter_renderer(letter)) for letter in case.letters
                  if letter.send_after <= now and case.folder == INBOX)]

    def overdue_digest(self) -> int:
        """Email each form's team its cases past due (each case once per day); how many were reported.

        Runs once an hour however often it is called (the email schedule calls it every few minutes).
        """
        if self.delivery is None:
            return 0
        now = self.clock()
        hour_ends = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if self.store.count_attempt(f"digest-round#{now.strftime('%Y%m%d%H')}", hour_ends) > 1:
            return 0
        from chalicelib.cases.digest import OverdueDigest
        mail = self.delivery.mail
        return OverdueDigest(self.forms, self.store, self.delivery.mailer, mail.sender, mail.admin_base_url,
                             self.clock).send()

    def _moved(self, case: Case, status: str, who: str, note: str) -> Case:
        change = StatusChange(self.clock(), who, case.status, status, note)
        return replace(case, status=status, history=[*case.history, change])

    @staticmethod
    def _same_version(case: Case, version: int | None) -> None:
        if version is not None and version != case.version:
            raise ConflictError("Someone changed this case while you were looking at it; reload the page and "
                                "try again.")

    def save(self, case: Case) -> Case:
        """Write a changed case over the version it was read at; ConflictError if someone changed it meanwhile."""
        return self._write(case)

    def _write(self, case: Case) -> Case:
        try:
            return self.store.replace(case)
        except ConditionFailedError as exc:
            raise ConflictError("Someone changed this case at the same moment; reload the page and try again.") \
                from exc
        except StoreUnavailableError as exc:
            raise StorageUnavailableError("Cases cannot be saved right now; please try again in a minute.") from exc

    @staticmethod
    def _reading[T](read: Callable[[], T]) -> T:
        try:
            return read()
        except StoreUnavailableError as exc:
            raise StorageUnavailableError("Cases cannot be read right now; please try again in a minute.") from exc
