"""The feedback inbox's case events reach webhooks: `case.replied` per reply and `case.resolved` per resolution,
over the in-memory services (cases, email delivery, webhooks wired as a deployment wires them) and a real local
HTTP receiver; each event's `webhook-id` stays the same through a retry and a repeated telling, and a webhook that
fails never fails the owner's action."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.cases.model import ANSWERED, CASE_REPLIED, CLOSED, RESOLVED, CaseUpdate
from chalicelib.core.errors import StoreUnavailableError
from chalicelib.core.submission import Submission
from chalicelib.jobs import dispatch
from chalicelib.storage.memory_webhooks import MemoryWebhookStore
from chalicelib.webhooks.events import Event
from chalicelib.webhooks.targets import WEBHOOKS_SCHEMA
from chalicelib.webhooks.transport import WebhookTransport
from chalicelib.wiring import MemoryStores, Services, build_memory_services
from tests.unit.webhooks.receiver import Answer, Receiver, running
from tests.unit.webhooks.support import ROOT, SECRET, Clock, contact, webhook_settings, write_form

from .test_delivery_service import FakeMailer

BASE = "https://forms.acme.example"
OWNER = "Ann (support)"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class UnreachableWebhookStore(MemoryWebhookStore):
    """A webhooks table that cannot be reached."""

    def save_event(self, event: Event, now: datetime) -> None:
        raise StoreUnavailableError("the webhooks table is out of reach")


class TestCaseWebhooks:
    """Case events as the dashboard's reply, status, decision and outcome make them, on the stores `stores` gives
    (in memory here; DynamoDB Local's tables in tests/integration/test_case_webhooks.py)."""

    @pytest.fixture
    def receiver(self) -> Iterator[Receiver]:
        with running() as started:
            yield started

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def stores(self) -> MemoryStores:
        return MemoryStores()

    def targets(self, receiver: Receiver) -> list[dict[str, Any]]:
        """The CRM takes both case events; the chat channel only resolved ideas, as Slack messages."""
        return [{"name": "crm", "url": receiver.url, "events": ["case.replied", "case.resolved"]},
                {"name": "chat", "url": receiver.url + "/chat", "events": ["case.resolved"], "kinds": ["idea"],
                 "format": "slack"}]

    @pytest.fixture
    def wired(self, tmp_path: Path, receiver: Receiver, clock: Clock, stores: MemoryStores) -> Services:
        return self.build(tmp_path, receiver, clock, stores)

    def build(self, tmp_path: Path, receiver: Receiver, clock: Clock, stores: MemoryStores) -> Services:
        """The memory services over a copy of the contact form naming `targets`, email and webhooks wired."""
        forms = tmp_path / "forms"
        write_form(forms, self.targets(receiver))
        (forms / "templates").symlink_to(ROOT / "forms" / "templates")
        return build_memory_services(webhook_settings(forms, FORMLOOP_ADMIN_BASE_URL=BASE), stores, clock=clock,
                                     mailer=FakeMailer(),
                                     webhook_transport=WebhookTransport(require_https=False, allow_private=True))

    def stored(self, wired: Services, stores: MemoryStores, submission: Submission) -> Submission:
        """Store a submission and run the consumers on it, as the stream does (its case opens)."""
        stores.submissions.items[(submission.form, submission.id)] = submission
        assert dispatch(wired.consumers, submission) == []
        return submission

    def test_a_reply_sends_one_signed_case_replied_with_the_case_s_link(
            self, wired: Services, stores: MemoryStores, receiver: Receiver, clock: Clock) -> None:
        submission = self.stored(wired, stores, contact(clock, "complaint"))
        assert receiver.requests == []  # no target asked for submission.received
        assert wired.cases is not None
        case = wired.cases.reply("contact", submission.id, "  We sent a new one today.  ", OWNER)
        [request] = receiver.requests
        payload = Webhook(SECRET).verify(request.body, request.headers)
        [reply] = case.replies
        assert payload["type"] == "case.replied"
        assert payload["data"] == {"form": "contact", "submissionId": submission.id, "kind": "complaint",
                                   "status": ANSWERED, "language": "en", "replyId": reply.id, "by": OWNER,
                                   "text": "We sent a new one today.", "repliedAt": _iso(clock()),
                                   "link": f"{BASE}/admin/cases/contact/{submission.id}"}

    def test_a_retried_delivery_and_a_repeated_telling_keep_one_webhook_id(
            self, wired: Services, stores: MemoryStores, receiver: Receiver, clock: Clock) -> None:
        submission = self.stored(wired, stores, contact(clock))
        assert wired.cases is not None and wired.webhooks is not None
        receiver.answer(Answer(503))
        case = wired.cases.reply("contact", submission.id, "It ships on Monday.", OWNER)
        clock.advance(60)
        assert wired.webhooks.retry_due() == 1
        wired.webhooks.case_changed(CaseUpdate(CASE_REPLIED, case, reply=case.replies[0]))  # told again
        first, retried = receiver.requests
        assert first.headers["webhook-id"] == retried.headers["webhook-id"]
        assert first.body == retried.body
        [delivery] = wired.webhooks.deliveries("contact")
        assert (delivery.webhook_id, delivery.status, delivery.attempts) == (first.headers["webhook-id"],
                                                                              "delivered", 2)
        clock.advance(1)
        wired.cases.reply("contact", submission.id, "And here is the tracking number.", OWNER)
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2  # a second reply: its own event

    def test_resolving_sends_case_resolved_once_per_resolution(
            self, wired: Services, stores: MemoryStores, receiver: Receiver, clock: Clock) -> None:
        submission = self.stored(wired, stores, contact(clock, "complaint"))
        assert wired.cases is not None
        wired.cases.change_status("contact", submission.id, "open", OWNER)
        assert receiver.requests == []  # open is not final
        resolved_at = clock()
        wired.cases.change_status("contact", submission.id, RESOLVED, OWNER, " replaced the part ")
        clock.advance(1)
        wired.cases.change_status("contact", submission.id, CLOSED, OWNER)  # final already: nothing new
        [request] = receiver.requests
        payload = Webhook(SECRET).verify(request.body, request.headers)
        assert payload["type"] == "case.resolved"
        assert payload["data"] == {"form": "contact", "submissionId": submission.id, "kind": "complaint",
                                   "status": RESOLVED, "previousStatus": "open", "by": OWNER,
                                   "note": "replaced the part", "decision": None, "outcome": None,
                                   "language": "en", "resolvedAt": _iso(resolved_at),
                                   "link": f"{BASE}/admin/cases/contact/{submission.id}"}
        wired.cases.change_status("contact", submission.id, "open", OWNER)
        clock.advance(1)
        wired.cases.change_status("contact", submission.id, CLOSED, OWNER)  # reopened, then ended again
        assert [json.loads(r.body)["data"]["status"] for r in receiver.requests] == [RESOLVED, CLOSED]
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2

    def test_deleting_a_submission_deletes_its_case_events_and_their_reply_text(
            self, wired: Services, stores: MemoryStores, receiver: Receiver, clock: Clock) -> None:
        submission = self.stored(wired, stores, contact(clock, "complaint"))
        assert wired.cases is not None and wired.webhooks is not None
        wired.cases.reply("contact", submission.id, "Ann, we refund you today.", OWNER)
        clock.advance(1)
        wired.cases.change_status("contact", submission.id, RESOLVED, OWNER)
        sent = [r.headers["webhook-id"].removeprefix("msg_") for r in receiver.requests
                if not r.path.endswith("/chat")]
        assert len(sent) == 2 and all(stores.webhooks.event("contact", i) is not None for i in sent)
        wired.removal.delete("contact", submission.id)
        assert [stores.webhooks.event("contact", i) for i in sent] == [None, None]  # the reply's text went too

    def test_an_idea_s_decision_and_a_referral_s_outcome_resolve_with_their_note(
            self, wired: Services, stores: MemoryStores, receiver: Receiver, clock: Clock) -> None:
        idea = self.stored(wired, stores, contact(clock, "idea"))
        referral = self.stored(wired, stores, contact(clock, "referral"))
        assert wired.cases is not None
        wired.cases.decide("contact", idea.id, "accepted", "In the spring release.", OWNER)
        wired.cases.record_outcome("contact", referral.id, "Called Bob: a demo on Friday.", OWNER)
        crm = [Webhook(SECRET).verify(r.body, r.headers)["data"] for r in receiver.requests
               if not r.path.endswith("/chat")]
        assert [(d["kind"], d["status"], d["decision"], d["note"], d["outcome"]) for d in crm] == [
            ("idea", RESOLVED, "accepted", "In the spring release.", None),
            ("referral", RESOLVED, None, "Called Bob: a demo on Friday.", "Called Bob: a demo on Friday.")]
        [chat] = [r for r in receiver.requests if r.path.endswith("/chat")]  # the kind filter: the idea alone
        text = json.loads(chat.body)["text"]
        assert text.splitlines() == [f"{OWNER} marked a case of *contact* (idea) resolved: accepted",
                                     ">In the spring release.",
                                     f"<{BASE}/admin/cases/contact/{idea.id}|Open the case>"]

    def test_a_failing_webhooks_table_fails_no_reply_and_no_resolution(
            self, tmp_path: Path, receiver: Receiver, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
        stores = MemoryStores(webhooks=UnreachableWebhookStore())
        wired = self.build(tmp_path, receiver, clock, stores)
        submission = self.stored(wired, stores, contact(clock))
        assert wired.cases is not None
        case = wired.cases.reply("contact", submission.id, "On its way.", OWNER)
        resolved = wired.cases.change_status("contact", submission.id, RESOLVED, OWNER)
        assert [r.text for r in case.replies] == ["On its way."] and resolved.status == RESOLVED
        assert wired.cases.get("contact", submission.id).status == RESOLVED
        assert receiver.requests == []
        logged = [r.getMessage() for r in caplog.records if r.name == "formloop.webhooks"]
        assert [m.split(" for ")[0] for m in logged] == ["webhook event case.replied",
                                                          "webhook event case.resolved"]


def test_no_case_event_reaches_a_target_that_did_not_ask_for_it(tmp_path: Path) -> None:
    clock = Clock()
    with running() as receiver:
        forms = tmp_path / "forms"
        write_form(forms, [{"name": "crm", "url": receiver.url, "events": ["submission.received"]},
                           {"name": "chat", "url": receiver.url + "/chat", "events": ["case.replied"],
                            "kinds": ["idea"]}])
        (forms / "templates").symlink_to(ROOT / "forms" / "templates")
        stores = MemoryStores()
        services = build_memory_services(webhook_settings(forms), stores, clock=clock, mailer=FakeMailer(),
                                         webhook_transport=WebhookTransport(require_https=False, allow_private=True))
        submission = contact(clock, "complaint")
        stores.submissions.items[(submission.form, submission.id)] = submission
        assert dispatch(services.consumers, submission) == []
        assert services.cases is not None
        services.cases.reply("contact", submission.id, "Sorry about that.", OWNER)
        services.cases.change_status("contact", submission.id, RESOLVED, OWNER)
    assert [Webhook(SECRET).verify(r.body, r.headers)["type"] for r in receiver.requests] == ["submission.received"]


def test_definitions_may_ask_for_the_case_events() -> None:
    assert {"case.replied", "case.resolved"} <= set(WEBHOOKS_SCHEMA["items"]["properties"]["events"]["items"]["enum"])
