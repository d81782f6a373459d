"""The delivery service: after a submission is stored, send what it is owed — once, with retries.

A post-write consumer (DynamoDB Streams in AWS, `formloop worker` locally). For each email a
submission is owed it creates a delivery record (pending), claims it with a lease, sends, and
records the outcome: sent; failed after a permanent error; skipped when nothing may be sent (the
acknowledgement's per-mailbox daily and per-form hourly limits). When a round of attempts meets only
transient errors, the email waits for a later round (`retry_due`, run on a schedule), for up to
FORMLOOP_MAIL_RETRY_HOURS, then fails. A record seen again finds its emails settled.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, FormRegistry
from chalicelib.mail.content import (
    Email,
    EmailTemplates,
    TemplateError,
    envelope,
    message_id_for,
    notification_recipients,
    render_acknowledgement,
    render_notification,
    to_message,
)
from chalicelib.mail.records import FAILED, PENDING, SENT, SKIPPED, Delivery
from chalicelib.mail.store import DeliveryStore
from chalicelib.mail.transport import Mailer, PermanentMailError, TransientMailError

log = logging.getLogger("formloop.delivery")

ACKNOWLEDGEMENT, NOTIFICATION = "acknowledgement", "notification"
# A worker that claimed an email and died is presumed gone after this long; the email is retried.
LEASE_SECONDS = 120
# When a round of attempts fails (the provider is down), the next round waits 1 minute, then 2, 4 ... at most an
# hour, until FORMLOOP_MAIL_RETRY_HOURS after the email was first owed.
LATER_FIRST_SECONDS = 60
LATER_MAX_SECONDS = 3600

# Extra blocks for the acknowledgement's template, e.g. {"gift": {...}}; see docs/email.md.
AcknowledgementExtra = Callable[[Submission], dict[str, Any]]


class DeliveryPendingError(Exception):
    """An email is still claimed by another attempt; offer the submission again later."""


@dataclass(frozen=True)
class PlannedEmail:
    """One email a submission is owed, before it is rendered."""

    kind: str
    recipients: list[str]
    render: Callable[[], Email]


HELD_NOTE = ("Held for review: the form's CAPTCHA could not be checked (its provider did not answer, or refused "
             "the site's keys). Nothing was sent to the respondent and no gift was given; check the post before "
             "trusting it.")


def marked_if_held(submission: Submission, email: Email) -> Email:
    """A held submission's notification says so: in its subject and first in both parts."""
    if submission.status != "held":
        return email
    from html import escape
    body = re.sub(r"(<body[^>]*>)", lambda m: f"{m[1]}<p><strong>{escape(HELD_NOTE)}</strong></p>", email.html,
                  count=1)
    return replace(email, subject=f"[held] {email.subject}", text=f"{HELD_NOTE}\n\n{email.text}", html=body)


class DeliveryService:
    """Sends the acknowledgement and the team notification of stored submissions."""

    def __init__(self, settings: Settings, forms: FormRegistry, store: DeliveryStore, mailer: Mailer,
                 templates: EmailTemplates, extras: list[AcknowledgementExtra] | None = None,
                 clock: Clock = utcnow,
                 sleep: Callable[[float], None] = time.sleep,
                 suppressed: Callable[[str], bool] = lambda address: False) -> None:
        self.settings = settings
        self.mail = settings.mail
        self.forms = forms
        self.store = store
        self.mailer = mailer
        self.templates = templates
        # The same list object as Services.acknowledgement_extras: providers registered later count.
        self.extras = extras if extras is not None else []
        self.clock = clock
        self.sleep = sleep
        self.suppressed = suppressed  # addresses that bounced for good or complained (chalicelib/mail/bounces.py)
        # More emails a submission may be owed (the owner's replies from the dashboard), planned with the rest so
        # they share its delivery records, retries and outbox.
        self.planners: list[Callable[[FormDefinition, Submission], list[PlannedEmail]]] = []

    def __call__(self, submission: Submission) -> None:
        """The consumer: deliver everything the submission is owed (safe to call again)."""
        self.deliver(submission)

    def plan(self, definition: FormDefinition, submission: Submission) -> list[PlannedEmail]:
        """The emails owed: none for spam; the acknowledgement if there is a respondent; the team's."""
        if submission.status not in ("received", "held"):
            return []
        planned = []
        if submission.respondent_email and submission.status == "received":  # held: the team hears first (below)
            planned.append(PlannedEmail(ACKNOWLEDGEMENT, [submission.respondent_email],
                                        lambda: render_acknowledgement(self.templates, definition, submission,
                                                                       self._extras(submission))))
        recipients = notification_recipients(definition, submission.feedback_kind)
        if recipients:
            planned.append(PlannedEmail(NOTIFICATION, recipients,
                                        lambda: marked_if_held(submission, render_notification(
                                            self.templates, definition, submission, self.mail.admin_base_url))))
        for planner in self.planners:
            planned.extend(planner(definition, submission))
        return planned

    def deliver(self, submission: Submission) -> list[Delivery]:
        """Create, claim and send each owed email; the records as they ended.

        Raises DeliveryPendingError when an email is still held by another worker's claim, so the
        caller (stream handler, worker) offers the record again later.
        """
        definition = self.forms.get(submission.form)
        if definition is None:
            log.warning("submission %s/%s: form no longer defined, nothing sent", submission.form, submission.id)
            return []
        results = []
        for planned in self.plan(definition, submission):
            delivery = self.store.ensure(submission.form, submission.id, planned.kind, planned.recipients,
                                         self.clock())
            results.append(self._send(definition, submission, delivery, planned))
        pending = [d.kind for d in results if d.status == PENDING and not d.waiting]
        if pending:
            raise DeliveryPendingError(f"{submission.form}/{submission.id}: {', '.join(pending)} still in flight")
        return results

    def _limit(self, definition: FormDefinition, setting: str, default: int) -> int:
        configured = definition.settings.get("acknowledgement", {}).get(setting)
        return int(configured) if configured is not None else default

    def _acknowledgement_refusal(self, definition: FormDefinition, submission: Submission, delivery: Delivery,
                                 address: str) -> str | None:
        """Why an acknowledgement may not go (a flood guard is spent), or None.

        Without both guards a form is a relay: anyone can make us mail any inbox, once per spelling of it.
        """
        if self.suppressed(address):
            return "address suppressed after a bounce or complaint"
        if not self.store.take_daily_slot(submission.form, address, submission.created_at, delivery.key,
                                          self._limit(definition, "perAddressPerDay",
                                                      self.mail.acknowledgements_per_address_per_day)):
            return "daily acknowledgement limit for this address reached"
        if not self.store.take_hourly_slot(submission.form, submission.created_at, delivery.key,
                                           self._limit(definition, "perFormPerHour",
                                                       self.mail.acknowledgements_per_form_per_hour)):
            return "hourly acknowledgement limit for this form reached"
        return None

    def _send(self, definition: FormDefinition, submission: Submission, delivery: Delivery,
              planned: PlannedEmail) -> Delivery:
        tries = 0  # in this round; the record's `attempts` counts every round
        while delivery.status == PENDING:
            claimed = self.store.claim(delivery, self.clock(), LEASE_SECONDS)
            if claimed is None:  # settled meanwhile, another worker holds it, or it waits for a later round
                return self.store.get(delivery.form, delivery.submission_id, delivery.kind) or delivery
            delivery = claimed
            tries += 1
            if planned.kind == ACKNOWLEDGEMENT:
                refusal = self._acknowledgement_refusal(definition, submission, delivery, planned.recipients[0])
                if refusal:
                    return self._settle(delivery, SKIPPED, error=refusal)
            if not self.mail.sender:
                return self._settle(delivery, FAILED, error=(
                    f"FORMLOOP_MAIL_FROM is missing, and has no default for the {self.mailer.name} backend "
                    "(a verified sender, e.g. 'Acme <hi@acme.example>')"))
            try:
                email = planned.render()
                message = to_message(email, self.mail.sender,
                                     message_id_for(self.mail.sender, f"{delivery.key}.{delivery.kind}"))
                message_id = self.mailer.send(message, envelope(email.to))
            except PermanentMailError as exc:
                return self._settle(delivery, FAILED, error=str(exc))
            except (TemplateError, ValueError) as exc:  # a broken template or refused header: no retry helps
                return self._settle(delivery, FAILED, error=f"cannot build the email: {exc}")
            except Exception as exc:  # transient mail errors, and surprises from extras providers
                if not isinstance(exc, TransientMailError):
                    log.exception("delivery %s/%s failed unexpectedly", delivery.key, delivery.kind)
                if tries >= self.mail.max_attempts:
                    return self._later(delivery, exc)
                self._settle(delivery, PENDING, error=str(exc))
                self.sleep(self._backoff(delivery.attempts))
                continue
            return self._settle(delivery, SENT, message_id=message_id)
        return delivery

    def _later(self, delivery: Delivery, exc: Exception) -> Delivery:
        """After a round of transient failures: wait for a later round, or give up once the retry window is over."""
        now = self.clock()
        first = delivery.created_at or now
        if now - first >= timedelta(hours=self.mail.retry_hours):
            return self._settle(delivery, FAILED, error=(
                f"gave up after {delivery.attempts} attempts over {self.mail.retry_hours} hours: {exc}"))
        rounds = max(1, delivery.attempts // max(1, self.mail.max_attempts))
        wait = min(LATER_FIRST_SECONDS * 2 ** (rounds - 1), LATER_MAX_SECONDS)
        self.store.postpone(delivery, now, now + timedelta(seconds=wait),
                            f"attempt {delivery.attempts} failed, next in {wait // 60} min: {exc}")
        log.warning("delivery %s/%s: mail provider failing, next attempt in %d s: %s",
                    delivery.key, delivery.kind, wait, exc)
        return delivery

    def retry_due(self, load: Callable[[str, str], Submission | None], limit: int = 50) -> int:
        """Give every email whose later round is due its next round; how many submissions were offered.

        Run by the schedule in AWS and by the local worker. `load` reads a submission back; one that is
        no longer stored (erased, or past its retention) owes nothing, and its waiting emails are closed.
        """
        offered: set[tuple[str, str]] = set()
        for due in self.store.due(self.clock(), limit):
            if (due.form, due.submission_id) in offered:
                continue
            delivery = self.store.get(due.form, due.submission_id, due.kind)
            if delivery is None or delivery.status != PENDING or delivery.retry_at != due.due:
                self.store.forget(due)  # settled, moved to a later time, or deleted meanwhile
                continue
            submission = load(due.form, due.submission_id)
            if submission is None:
                self._settle(delivery, FAILED, error="the submission is no longer stored")
                continue
            offered.add((due.form, due.submission_id))
            try:
                self.deliver(submission)
            except DeliveryPendingError:
                pass  # another worker holds it; it stays on the waiting list
        return len(offered)

    def _backoff(self, attempt: int) -> float:
        # Exponential, capped: 0.2 s, 0.4 s, 0.8 s ... at most 5 s with the default base.
        return float(min(self.mail.retry_base_ms * 2 ** (attempt - 1), 5000)) / 1000

    def _settle(self, delivery: Delivery, status: str, *, error: str | None = None,
                message_id: str | None = None) -> Delivery:
        self.store.settle(delivery, status, self.clock(), error=error, message_id=message_id,
                          backend=self.mailer.name)
        if status == FAILED:
            log.error("delivery %s/%s failed: %s", delivery.key, delivery.kind, error)
        delivery.status = status
        delivery.last_error = error or delivery.last_error
        delivery.message_id = message_id or delivery.message_id
        return delivery

    def _extras(self, submission: Submission) -> dict[str, Any]:
        blocks: dict[str, Any] = {}
        for provider in self.extras:
            blocks.update(provider(submission))
        return blocks

