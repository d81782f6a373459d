"""Webhook events: what happened, once, with an id that never changes (receivers de-duplicate on it).

An event's id is derived from what it is about (form, type, subject) and when it happened, so emitting the same
event again (a redelivered stream record, a retried gift call) finds the same id, and the same delivery records.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.submission import Submission

if TYPE_CHECKING:
    from chalicelib.cases.model import Case, CaseUpdate

# Slack shows this much of one answer; the standard format always carries all of it.
SLACK_ANSWER_CHARS = 300


@dataclass(frozen=True)
class Event:
    """One event of one form: its type, what it is about (`subject`), when, and its data."""

    form: str
    type: str
    subject: str  # the submission id, the gift id, or a case's reply ("<submission id>#reply-<reply id>")
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None  # the submission's kind of feedback, for targets that filter by it

    @property
    def id(self) -> str:
        """Sorts by time, then a digest of form, type and subject: the same event always has the same id."""
        digest = hashlib.sha256(f"{self.form}|{self.type}|{self.subject}".encode()).hexdigest()[:16]
        return f"{int(self.occurred_at.timestamp() * 1000):013d}{digest}"

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the same on every attempt, retry and replay of this event."""
        return f"msg_{self.id}"

    def as_json(self) -> dict[str, Any]:
        """The event as stored (and read back by `from_json`)."""
        return {"form": self.form, "type": self.type, "subject": self.subject,
                "occurredAt": self.occurred_at.isoformat(), "data": self.data, "kind": self.kind}

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Event:
        """An event as `as_json` stored it."""
        return cls(form=stored["form"], type=stored["type"], subject=stored["subject"],
                   occurred_at=datetime.fromisoformat(stored["occurredAt"]), data=dict(stored.get("data") or {}),
                   kind=stored.get("kind"))


# The events that carry a submission's answers (deleted with it).
SUBMISSION_EVENT_TYPES = ("submission.received", "submission.spam_cleared")


def submission_event(submission: Submission, event_type: str = "submission.received") -> Event:
    """A submission event: form, submission id, answers, kind, language, source and time."""
    data = {"form": submission.form, "submissionId": submission.id, "answers": submission.answers,
            "kind": submission.feedback_kind, "language": submission.language,
            "source": {"origin": submission.origin}, "receivedAt": _iso(submission.created_at)}
    return Event(form=submission.form, type=event_type, subject=submission.id, occurred_at=submission.created_at,
                 data=data, kind=submission.feedback_kind)


def gift_event(event_type: str, gift: Any, occurred_at: datetime) -> Event | None:
    """A gift event (issued, claimed, redeemed) for the form that earned the gift; None without one.

    Neither the code nor the link goes out: the respondent's inbox is the only place for those.
    """
    form = getattr(gift, "form", None)
    if not form:
        return None
    data = {"form": form, "submissionId": getattr(gift, "submission_id", None), "gift": gift.id,
            "campaign": gift.campaign, "state": gift.state, "language": getattr(gift, "language", None),
            "at": _iso(occurred_at)}
    return Event(form=form, type=event_type, subject=gift.id, occurred_at=occurred_at, data=data)


def case_link(admin_base_url: str, form: str, submission_id: str) -> str:
    """The case's page in the owner's dashboard."""
    return f"{admin_base_url.rstrip('/')}/admin/cases/{form}/{submission_id}"


def case_event(update: CaseUpdate, admin_base_url: str) -> Event | None:
    """`case.replied` (one per reply, keyed on its id) or `case.resolved` (one per resolving status change, keyed
    on its time); None for anything else. The respondent's address stays out: the receiver has the submission's."""
    case = update.case
    data: dict[str, Any] = {"form": case.form, "submissionId": case.submission_id, "kind": case.kind,
                            "status": case.status, "language": case.language,
                            "link": case_link(admin_base_url, case.form, case.submission_id)}
    if update.reply is not None:
        reply = update.reply
        data.update(replyId=reply.id, by=reply.who, text=reply.text, repliedAt=_iso(reply.at))
        return Event(form=case.form, type=update.type, subject=f"{case.submission_id}#reply-{reply.id}",
                     occurred_at=reply.at, data=data, kind=case.kind)
    if update.change is not None:
        change = update.change
        data.update(status=change.new, previousStatus=change.old, by=change.who, note=update.note or None,
                    decision=update.decision, outcome=case.outcome if case.kind == "referral" else None,
                    resolvedAt=_iso(change.at))
        return Event(form=case.form, type=update.type, subject=case.submission_id, occurred_at=change.at,
                     data=data, kind=case.kind)
    return None


def case_event_ids(case: Case) -> list[str]:
    """The ids every case event of `case` has or would have (each reply's `case.replied`, each status change's
    `case.resolved`): what deleting its submission removes with it, since a reply's text is personal data."""
    from chalicelib.cases.model import CASE_REPLIED, CASE_RESOLVED, CaseUpdate
    updates = [CaseUpdate(CASE_REPLIED, case, reply=reply) for reply in case.replies]
    updates += [CaseUpdate(CASE_RESOLVED, case, change=change) for change in case.history]
    return [event.id for event in (case_event(update, "") for update in updates) if event is not None]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def standard_body(event: Event) -> bytes:
    """The `standard` format: Standard Webhooks' {"type", "timestamp", "data"} envelope, as compact JSON."""
    envelope = {"type": event.type, "timestamp": _iso(event.occurred_at), "data": event.data}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters; everything else shows as typed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > SLACK_ANSWER_CHARS:
        text = text[:SLACK_ANSWER_CHARS] + "…"
    return _slack_escape(text)


def slack_body(event: Event, admin_base_url: str) -> bytes:
    """The `slack` format: a readable message (Slack's incoming-webhook JSON) linking to the submission."""
    data = event.data
    form = _slack_escape(event.form)
    submission_id = data.get("submissionId")
    link = f"{admin_base_url.rstrip('/')}/admin/forms/{event.form}/submissions/{submission_id}" \
        if submission_id else None
    if event.type.startswith("case."):
        return _slack_case(event)
    if event.type.startswith("submission."):
        kind = f" ({_slack_escape(str(data['kind']))})" if data.get("kind") else ""
        title = f"New submission to *{form}*{kind}" if event.type == "submission.received" \
            else f"Submission to *{form}* cleared from spam{kind}"
        lines = [f"*{_slack_escape(str(name))}*: {_slack_value(value)}"
                 for name, value in (data.get("answers") or {}).items()]
    else:
        verb = event.type.partition(".")[2]
        title = f"Gift {verb} for *{form}* (campaign {_slack_escape(str(data.get('campaign')))})"
        lines = []
    if link:
        lines.append(f"<{link}|Open the submission>")
    text = "\n".join([title, *lines])
    return json.dumps({"text": text}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _slack_case(event: Event) -> bytes:
    """A case event for Slack: who did what to which case, the reply or the note, and the case's link."""
    data = event.data
    form, who = _slack_escape(event.form), _slack_escape(str(data.get("by")))
    kind = f" ({_slack_escape(str(data['kind']))})" if data.get("kind") else ""
    if event.type == "case.replied":
        lines = [f"{who} replied to a case of *{form}*{kind}", f">{_slack_value(str(data.get('text') or ''))}"]
    else:
        decision = f": {_slack_escape(str(data['decision']))}" if data.get("decision") else ""
        lines = [f"{who} marked a case of *{form}*{kind} {_slack_escape(str(data.get('status')))}{decision}"]
        if data.get("note"):
            lines.append(f">{_slack_value(str(data['note']))}")
    lines.append(f"<{data['link']}|Open the case>")
    text = "\n".join(line.replace("\n", "\n>") if line.startswith(">") else line for line in lines)
    return json.dumps({"text": text}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
