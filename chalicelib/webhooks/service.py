"""The webhook service: send each event a form's targets asked for — signed, once, retried for hours.

`submission.received` comes from the post-write consumer (DynamoDB Streams in AWS, `formloop worker` locally)
and is sent at once; so are the inbox's case events (`case.replied`, `case.resolved`, told by the case service
as the owner acts) and `submission.spam_cleared`; gift events are recorded where they happen and sent by the next
retry round. Each
delivery is claimed with a lease before its request, so a crash or a redelivered stream record never sends
twice from here: what goes again is a retry, with the same `webhook-id`. 5xx, 408, 429, timeouts and
connection errors wait for a later attempt (exponential backoff with jitter, Retry-After honoured) until the
email retry window (FORMLOOP_MAIL_RETRY_HOURS) is over; other answers end the delivery at once; 410 also
disables the target.
"""
from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.config import LOCAL_STAGE, Settings
from chalicelib.core.errors import (
    ConditionFailedError,
    NotFoundError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.webhooks.events import (
    Event,
    case_event,
    gift_event,
    slack_body,
    standard_body,
    submission_event,
)
from chalicelib.webhooks.records import DELIVERED, FAILED, PENDING, WebhookDelivery
from chalicelib.webhooks.signing import WebhookSecretError, signature_headers, target_secrets
from chalicelib.webhooks.store import WebhookStore
from chalicelib.webhooks.targets import Target, targets_of
from chalicelib.webhooks.transport import WebhookRefusedError, WebhookTransport, WebhookTransportError

if TYPE_CHECKING:
    from chalicelib.cases.model import CaseUpdate

log = logging.getLogger("formloop.webhooks")

# Longer than one call may take (the timeout), so a live sender's claim never lapses under it.
LEASE_SECONDS = 120
# After a failed attempt: 30 s, 1 min, 2 min ... at most an hour (each with jitter), within the retry window.
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
# A Retry-After is honoured up to this long; a longer one still gets an attempt then.
RETRY_AFTER_MAX_SECONDS = 6 * 3600
RETRYABLE = frozenset({408, 429})
# How long events are kept for retries and replays.
EVENT_RETENTION = timedelta(days=30)
REPLAY_LIMIT = 500


def _reaching_storage[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """An admin call whose store is out of reach answers 503, asking to try again (nothing changed)."""
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except StoreUnavailableError as exc:
            raise StorageUnavailableError("The webhook records could not be reached; please try again shortly.") \
                from exc
    return wrapper


class WebhookService:
    """Emits events to the targets a form names, and retries, lists and replays their deliveries."""

    def __init__(self, settings: Settings, forms: FormRegistry, store: WebhookStore,
                 transport: WebhookTransport | None = None,
                 clock: Clock = utcnow,
                 jitter: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.forms = forms
        self.store = store
        local = settings.stage == LOCAL_STAGE
        self.transport = transport or WebhookTransport(
            timeout_seconds=settings.webhooks.timeout_seconds,
            max_response_bytes=settings.webhooks.max_response_bytes, require_https=not local, allow_private=local)
        self.clock = clock
        self.jitter = jitter

    # --- emitting ------------------------------------------------------------------------------------------

    def __call__(self, submission: Submission) -> None:
        """The post-write consumer: `submission.received` for a stored, non-spam submission (safe to repeat)."""
        if submission.status == "received":
            self.emit(submission_event(submission))

    def emit(self, event: Event, *, send_now: bool = True) -> list[WebhookDelivery]:
        """Record the event and one delivery per target that wants it; send them now, or in the next round."""
        targets = [t for t in self._targets(event.form) if t.wants(event.type, event.kind)]
        if not targets:
            return []
        now = self.clock()
        self.store.save_event(event, now)
        results = []
        for target in targets:
            delivery = self.store.ensure(event, target.name, now)
            if send_now:
                delivery = self._attempt(delivery, target, event)
            elif delivery.status == PENDING and delivery.attempts == 0 and not delivery.waiting:
                self.store.postpone(delivery, now, now, None)  # the next round sends it
            results.append(delivery)
        return results

    def gift_changed(self, event_type: str, gift: Any, at: datetime) -> None:
        """The gift service's hook: record a gift event for the next round. Never fails the gift's own change."""
        try:
            event = gift_event(event_type, gift, at)
            if event is not None:
                self.emit(event, send_now=False)
        except Exception:  # a webhook problem must not undo or refuse a claim the respondent already made
            log.exception("webhook event %s for gift %s not recorded", event_type, getattr(gift, "id", "?"))

    def case_changed(self, update: CaseUpdate) -> None:
        """The case service's hook: send a case event at once (its retries go by the rounds). Never fails the
        owner's reply or resolution, which is stored already; telling it again finds the same event."""
        try:
            event = case_event(update, self.settings.mail.admin_base_url)
            if event is not None:
                self.emit(event)
        except Exception:  # logged: the delivery list, a retry or a replay is the owner's way to send it again
            log.exception("webhook event %s for case %s/%s not recorded", update.type, update.case.form,
                          update.case.submission_id)

    def _targets(self, form: str) -> list[Target]:
        definition = self.forms.get(form)
        return targets_of(definition.settings) if definition is not None else []

    def _target(self, form: str, name: str) -> Target | None:
        return next((t for t in self._targets(form) if t.name == name), None)

    # --- one attempt ---------------------------------------------------------------------------------------

    def _attempt(self, delivery: WebhookDelivery, target: Target, event: Event) -> WebhookDelivery:
        now = self.clock()
        claimed = self.store.claim(delivery, now, LEASE_SECONDS)
        if claimed is None:  # settled meanwhile, another worker holds it, or it waits for a later attempt
            return self.store.get(delivery.form, delivery.event_id, delivery.target) or delivery
        delivery = claimed
        disabled = self.store.disabled(delivery.form, target.name)
        if disabled:
            return self._settle(delivery, FAILED, f"target {target.name!r} is disabled: {disabled}")
        try:
            secrets = target_secrets(self.settings, target.name)
        except WebhookSecretError as exc:
            return self._settle(delivery, FAILED, str(exc))
        body = slack_body(event, self.settings.mail.admin_base_url) if target.format == "slack" \
            else standard_body(event)
        headers = signature_headers(event.webhook_id, int(now.timestamp()), body, secrets)
        try:
            response = self.transport.post(target.url, body, headers)
        except WebhookRefusedError as exc:
            return self._settle(delivery, FAILED, f"refused: {exc}")
        except WebhookTransportError as exc:
            return self._later(delivery, str(exc), None, None)
        status = response.status
        if 200 <= status < 300:
            return self._settle(delivery, DELIVERED, None, status)
        answer = response.body[:200].decode("utf-8", "replace")
        if status == 410:
            reason = f"the receiver answered 410 Gone at {now.isoformat()}"
            self.store.disable_target(delivery.form, target.name, reason, now)
            log.warning("webhook target %s/%s disabled: %s", delivery.form, target.name, reason)
            return self._settle(delivery, FAILED, f"target disabled: {reason}", status)
        if status >= 500 or status in RETRYABLE:
            return self._later(delivery, f"HTTP {status}: {answer}", status, response.retry_after)
        if 300 <= status < 400:
            return self._settle(delivery, FAILED, f"HTTP {status}: redirects are not followed; point the webhook "
                                                  f"at {response.location or 'its new address'}", status)
        return self._settle(delivery, FAILED, f"HTTP {status}: {answer}", status)

    def _later(self, delivery: WebhookDelivery, error: str, status: int | None,
               retry_after: float | None) -> WebhookDelivery:
        """After a transient failure: wait for a later attempt, or give up once the retry window is over."""
        now = self.clock()
        hours = self.settings.mail.retry_hours
        if now - (delivery.created_at or now) >= timedelta(hours=hours):
            return self._settle(delivery, FAILED, f"gave up after {delivery.attempts} attempts over {hours} hours: "
                                                  f"{error}", status)
        wait = min(BACKOFF_FIRST_SECONDS * 2 ** max(0, delivery.attempts - 1), BACKOFF_MAX_SECONDS)
        wait = wait / 2 + wait / 2 * self.jitter()  # spread receivers' recoveries over the next half-interval
        if retry_after is not None:
            wait = max(wait, min(retry_after, RETRY_AFTER_MAX_SECONDS))
        self.store.postpone(delivery, now, now + timedelta(seconds=wait),
                            f"attempt {delivery.attempts} failed, next in {int(wait)} s: {error}", status)
        log.warning("webhook %s/%s to %s: next attempt in %d s: %s", delivery.form, delivery.event_id,
                    delivery.target, wait, error)
        return self.store.get(delivery.form, delivery.event_id, delivery.target) or delivery

    def _settle(self, delivery: WebhookDelivery, status: str, error: str | None,
                http_status: int | None = None) -> WebhookDelivery:
        self.store.settle(delivery, status, self.clock(), error=error, http_status=http_status)
        if status == FAILED:
            log.error("webhook %s/%s to %s failed: %s", delivery.form, delivery.event_id, delivery.target, error)
        return self.store.get(delivery.form, delivery.event_id, delivery.target) or delivery

    # --- rounds, the admin's retry and replay ----------------------------------------------------------------

    def retry_due(self, limit: int = 50) -> int:
        """Give every delivery whose next attempt is due that attempt; how many were attempted.

        Run by the 5-minute schedule in AWS and by the local worker.
        """
        attempted = 0
        for due in self.store.due(self.clock(), limit):
            delivery = self.store.get(due.form, due.event_id, due.target)
            if delivery is None or delivery.status != PENDING or delivery.retry_at != due.due:
                self.store.forget(due)  # settled, moved to a later time, or deleted meanwhile
                continue
            event = self.store.event(due.form, due.event_id)
            target = self._target(due.form, due.target)
            if event is None or target is None:
                self._settle(delivery, FAILED, "the event is no longer stored" if event is None
                             else f"the form no longer names a webhook {due.target!r}")
                continue
            attempted += 1
            self._attempt(delivery, target, event)
        return attempted

    @_reaching_storage
    def deliveries(self, form: str, limit: int = 50) -> list[WebhookDelivery]:
        """A form's recent deliveries, newest first (NotFoundError for an unknown form)."""
        self.forms.require(form)
        return self.store.recent(form, max(1, min(limit, 200)))

    @_reaching_storage
    def retry(self, form: str, event_id: str, target_name: str) -> WebhookDelivery:
        """An admin's retry of one delivery, now (a disabled target is enabled again)."""
        self.forms.require(form)
        delivery = self.store.get(form, event_id, target_name)
        event = self.store.event(form, event_id)
        target = self._target(form, target_name)
        if delivery is None or event is None:
            raise NotFoundError(f"There is no webhook delivery of event {event_id!r} to {target_name!r}.")
        if target is None:
            raise NotFoundError(f"The form {form!r} no longer names a webhook {target_name!r}.")
        self.store.enable_target(form, target_name)
        try:
            delivery = self.store.reopen(delivery, self.clock())
        except ConditionFailedError:
            pass  # pending already: the attempt below takes it unless a sender holds it now
        return self._attempt(delivery, target, event)

    @_reaching_storage
    def replay(self, form: str, target_name: str, since: datetime) -> dict[str, Any]:
        """Queue every event of the form from `since` on that the target wants, for the next round.

        Up to REPLAY_LIMIT events per call; `next` is the time to replay from again, or None when done. Each
        keeps its `webhook-id`, so a receiver that already has an event recognises it.
        """
        self.forms.require(form)
        target = self._target(form, target_name)
        if target is None:
            raise NotFoundError(f"The form {form!r} names no webhook {target_name!r}.")
        self.store.enable_target(form, target_name)
        now = self.clock()
        events = self.store.events_since(form, since, REPLAY_LIMIT)
        queued = 0
        for event in events:
            if not target.wants(event.type, event.kind):
                continue
            delivery = self.store.ensure(event, target.name, now)
            if delivery.status != PENDING:
                delivery = self.store.reopen(delivery, now)
            if not delivery.waiting:
                self.store.postpone(delivery, now, now, None)
            queued += 1
        more = len(events) == REPLAY_LIMIT
        return {"form": form, "target": target_name, "queued": queued,
                "next": events[-1].occurred_at.isoformat() if more else None}
