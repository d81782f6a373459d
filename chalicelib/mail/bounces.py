"""SES bounce and complaint events: the delivery they concern is marked, the address suppressed.

SES publishes the events of Formloop's configuration set to an SNS topic, which invokes the mail-event
handler (app.py). A permanent bounce or a complaint marks the delivery record ("bounced" or "complained")
and puts the address on the suppression list: acknowledgements are never sent to it again (the team's
notifications are unaffected). Transient bounces (a full mailbox) change nothing. Each email's Message-ID
names its delivery (`message_id_for`), so the event finds its record without an index.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.core.addresses import address_digest
from chalicelib.core.clock import Clock, utcnow
from chalicelib.mail.store import DeliveryStore

log = logging.getLogger("formloop.bounces")

BOUNCED, COMPLAINED = "bounced", "complained"
KINDS = ("acknowledgement", "notification")
# "<form.submission-id.kind@domain>": the form id has only [a-z0-9-], the submission id is a ULID.
_MESSAGE_ID = re.compile(r"^<?(?P<form>[a-z0-9][a-z0-9-]*)\.(?P<id>[0-9A-Z]{26})\.(?P<kind>[a-z]+)@[^>]+>?$")


def suppression_key(address: str) -> str:
    """The suppression list's key for an address: the SHA-256 of its mailbox (one inbox, one key)."""
    return address_digest(address)


class SuppressionList(Protocol):
    """Addresses no acknowledgement may be sent to (they bounced for good, or complained)."""

    def suppress(self, address: str, reason: str, now: datetime) -> None:
        """Put an address on the list (again: the newest reason wins)."""
        ...

    def is_suppressed(self, address: str) -> bool:
        """Whether an address is on the list."""
        ...


@dataclass(frozen=True)
class MailEvent:
    """What one SES event says: which outcome, for which addresses, about which delivery (if it is ours)."""

    outcome: str  # BOUNCED or COMPLAINED
    addresses: tuple[str, ...]
    form: str | None
    submission_id: str | None
    kind: str | None
    detail: str


def parse_mail_event(message: str) -> MailEvent | None:
    """The SNS message's SES event, or None when it is no permanent bounce or complaint (or is unreadable)."""
    try:
        event = json.loads(message)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    kind = event.get("eventType") or event.get("notificationType")  # configuration set events, or identity ones
    mail: dict[str, Any] = event["mail"] if isinstance(event.get("mail"), dict) else {}
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return None
        outcome, people = BOUNCED, bounce.get("bouncedRecipients") or []
        detail = f"SES: permanent bounce ({bounce.get('bounceSubType', 'General')})"
    elif kind == "Complaint":
        complaint = event.get("complaint") or {}
        outcome, people = COMPLAINED, complaint.get("complainedRecipients") or []
        detail = f"SES: complaint ({complaint.get('complaintFeedbackType', 'unspecified')})"
    else:
        return None
    addresses = tuple(str(p["emailAddress"]) for p in people if isinstance(p, dict) and p.get("emailAddress"))
    header = str((mail.get("commonHeaders") or {}).get("messageId", "")).strip()
    found = _MESSAGE_ID.match(header)
    if found is None or found["kind"] not in KINDS:
        return MailEvent(outcome, addresses, None, None, None, detail)
    return MailEvent(outcome, addresses, found["form"], found["id"], found["kind"], detail)


class BounceRecorder:
    """Applies SES events: marks the delivery record and suppresses the address for acknowledgements."""

    def __init__(self, deliveries: DeliveryStore, suppressions: SuppressionList,
                 clock: Clock = utcnow) -> None:
        self.deliveries = deliveries
        self.suppressions = suppressions
        self.clock = clock

    def record(self, message: str) -> MailEvent | None:
        """Apply one SNS message; the event it carried, or None when there was nothing to do."""
        event = parse_mail_event(message)
        if event is None:
            return None
        now = self.clock()
        for address in event.addresses:
            self.suppressions.suppress(address, event.detail, now)
        if event.form and event.submission_id and event.kind:
            if not self.deliveries.mark_outcome(event.form, event.submission_id, event.kind, event.outcome,
                                                event.detail, now):
                log.warning("%s for %s/%s/%s: no such delivery record", event.outcome, event.form,
                            event.submission_id, event.kind)
        log.info("%s: %d address(es) suppressed for acknowledgements", event.outcome, len(event.addresses))
        return event


def sns_messages(event: dict[str, Any]) -> list[str]:
    """The messages of an SNS-to-Lambda event (SNS sends one record per invocation, the format allows more)."""
    return [str(r["Sns"]["Message"]) for r in event.get("Records", []) if isinstance(r, dict) and "Sns" in r]
