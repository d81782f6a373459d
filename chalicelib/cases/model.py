"""A case: one submission as the owner works on it (kind, status, due time, history, replies), and inbox queries."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

NEW, OPEN, ANSWERED, RESOLVED, CLOSED = "new", "open", "answered", "resolved", "closed"
STATUSES = (NEW, OPEN, ANSWERED, RESOLVED, CLOSED)
# The statuses that end a case: the client's matter is dealt with (resolved) or needs nothing more (closed).
FINAL_STATUSES = frozenset({RESOLVED, CLOSED})
# While a case has one of these statuses, the client still waits for us: its due time counts.
WAITING_STATUSES = frozenset({NEW, OPEN})
INBOX, SPAM = "inbox", "spam"
FOLDERS = (INBOX, SPAM)
# Sorts after every real due time: cases nobody waits on come after those somebody does.
NO_DUE = 999_999_999_999
# A case's place in the inbox order (Case.order): due, newest-first stamp, form id, submission id (a ULID).
_ORDER = re.compile(r"^[0-9]{12}#[0-9]{12}#[a-z0-9][a-z0-9-]{0,63}#[0-9A-HJKMNP-TV-Z]{26}$")


def is_order(text: str) -> bool:
    """Whether `text` is a place in the inbox order Formloop could have given out (checked before any read)."""
    return _ORDER.match(text) is not None


@dataclass(frozen=True)
class StatusChange:
    """One change of a case's status: from what, to what, by whom, when, and why."""

    at: datetime
    who: str
    old: str | None
    new: str
    note: str = ""


@dataclass(frozen=True)
class Reply:
    """One reply the owner sent from the case page; its email is the delivery of kind `delivery_kind`."""

    id: str
    at: datetime
    who: str
    text: str

    @property
    def delivery_kind(self) -> str:
        """The kind of the delivery record that carries this reply's email."""
        return f"reply-{self.id}"


# The letters a case's reaction sends the client (besides the owner's replies), each by its own delivery record.
FIXED, DECISION, THANKS = "fixed", "decision", "thanks"
LETTERS = (FIXED, DECISION, THANKS)
ACCEPTED, DECLINED = "accepted", "declined"
DECISIONS = (ACCEPTED, DECLINED)


@dataclass(frozen=True)
class Letter:
    """One email a case's reaction owes the client: "is it fixed?", an idea's decision, or the praise thank-you.

    It goes out no earlier than `send_after`; `decision` and `note` are what an idea's letter tells.
    """

    id: str
    kind: str
    at: datetime
    who: str
    send_after: datetime
    decision: str = ""
    note: str = ""

    @property
    def delivery_kind(self) -> str:
        """The kind of the delivery record that carries this letter."""
        return f"{self.kind}-{self.id}"


@dataclass
class Case:
    """A submission as a case: what it is, who sent it, where it came from, and what was done about it."""

    form: str
    submission_id: str
    kind: str | None
    status: str
    folder: str
    created_at: datetime
    due_at: datetime | None
    respondent: str | None
    language: str | None
    source: str | None
    version: int = 0
    history: list[StatusChange] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    outcome: str | None = None  # a referral's: what came of contacting the lead

    @property
    def decision(self) -> Letter | None:
        """An idea's latest recorded decision, if any."""
        return next((letter for letter in reversed(self.letters) if letter.kind == DECISION), None)

    @property
    def key(self) -> str:
        """The case's key, as "<form>#<submission id>"."""
        return f"{self.form}#{self.submission_id}"

    @property
    def waiting(self) -> bool:
        """Whether the client still waits for us (a due time that counts)."""
        return self.folder == INBOX and self.status in WAITING_STATUSES and self.due_at is not None

    def overdue(self, now: datetime) -> bool:
        """Whether the case passed its due time with the client still waiting."""
        return self.waiting and self.due_at is not None and self.due_at <= now

    def order(self) -> str:
        """The inbox order: the earliest due time first (the most overdue at the top), then the newest."""
        due = int(self.due_at.timestamp()) if self.waiting and self.due_at is not None else NO_DUE
        newest_first = NO_DUE - int(self.created_at.timestamp())
        return f"{due:012d}#{newest_first:012d}#{self.form}#{self.submission_id}"


# What other systems hear of a case (webhooks): a reply sent, and the case reaching a final status.
CASE_REPLIED, CASE_RESOLVED = "case.replied", "case.resolved"


@dataclass(frozen=True)
class CaseUpdate:
    """One thing done on a case that other systems may hear of: a reply sent, or the case resolved or closed.

    `reply` is the reply of `case.replied`; `change` the status change of `case.resolved`, with an idea's
    `decision` and the owner's `note` (a decision's note, a referral's outcome, or the status change's note).
    """

    type: str
    case: Case
    reply: Reply | None = None
    change: StatusChange | None = None
    decision: str | None = None
    note: str = ""


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: one folder, optionally narrowed by form, kind, status, overdue, dates or address."""

    folder: str = INBOX
    form: str | None = None
    kind: str | None = None
    status: str | None = None
    overdue: bool = False
    since: datetime | None = None
    until: datetime | None = None
    address: str | None = None
    source: str | None = None  # where posts came from: a utm_source, a referring site's host, or an origin


@dataclass(frozen=True)
class InboxPage:
    """One page of the inbox and where the next one starts (None on the last page)."""

    cases: list[Case]
    next_after: str | None
