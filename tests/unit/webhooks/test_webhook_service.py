"""WebhookService behaviour against a real local HTTP receiver, on the in-memory store
(tests/integration/test_webhook_behaviour.py runs the same class on DynamoDB Local)."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.core.config import Settings
from chalicelib.forms.definitions import FormRegistry
from chalicelib.storage.memory_webhooks import MemoryWebhookStore
from chalicelib.webhooks.records import DELIVERED, FAILED, PENDING
from chalicelib.webhooks.service import WebhookService
from chalicelib.webhooks.store import WebhookStore
from chalicelib.webhooks.transport import USER_AGENT, WebhookTransport

from .receiver import Answer, Receiver, free_port, running
from .support import OLD_SECRET, SECRET, Clock, contact, webhook_settings, write_form


class TestWebhookService:
    """Each event reaches the targets that asked for it once, signed, through outages, on any store."""

    @pytest.fixture
    def store(self) -> WebhookStore:
        return MemoryWebhookStore()

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def receiver(self) -> Iterator[Receiver]:
        with running() as started:
            yield started

    @pytest.fixture
    def forms_dir(self, tmp_path: Path, receiver: Receiver) -> Path:
        write_form(tmp_path / "forms", [
            {"name": "crm", "url": receiver.url, "events": ["submission.received", "gift.claimed"]},
            {"name": "chat", "url": receiver.url + "/chat", "events": ["submission.received"],
             "kinds": ["complaint"], "format": "slack"}])
        return tmp_path / "forms"

    @pytest.fixture
    def service_settings(self, forms_dir: Path) -> Settings:
        return webhook_settings(forms_dir)

    def service(self, settings: Settings, store: WebhookStore, clock: Clock) -> WebhookService:
        return WebhookService(settings, FormRegistry(settings.forms_dir), store, clock=clock, jitter=lambda: 1.0)

    @pytest.fixture
    def webhooks(self, service_settings: Settings, store: WebhookStore, clock: Clock) -> WebhookService:
        return self.service(service_settings, store, clock)

    def test_signature_verifies_with_the_reference_library(self, webhooks: WebhookService, receiver: Receiver,
                                                           clock: Clock) -> None:
        submission = contact(clock)
        webhooks(submission)
        [request] = receiver.requests
        payload = Webhook(SECRET).verify(request.body, request.headers)
        assert payload["type"] == "submission.received"
        assert payload["data"] == {"form": "contact", "submissionId": submission.id, "answers": submission.answers,
                                   "kind": "question", "language": "en",
                                   "source": {"origin": "https://shop.example.com"},
                                   "receivedAt": clock().isoformat().replace("+00:00", "Z")}
        assert request.headers["user-agent"] == USER_AGENT
        assert request.headers["webhook-id"].startswith("msg_")
        with pytest.raises(WebhookVerificationError):
            Webhook(OLD_SECRET).verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):  # a changed body no longer verifies
            Webhook(SECRET).verify(request.body.replace(b"Where", b"There"), request.headers)

    def test_during_a_rotation_both_secrets_verify(self, forms_dir: Path, store: WebhookStore, clock: Clock,
                                                   receiver: Receiver) -> None:
        settings = webhook_settings(forms_dir, FORMLOOP_WEBHOOK_SECRET_CRM=f"{OLD_SECRET} {SECRET}")
        self.service(settings, store, clock)(contact(clock))
        [request] = receiver.requests
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        Webhook(OLD_SECRET).verify(request.body, request.headers)
        Webhook(SECRET).verify(request.body, request.headers)

    def test_receiver_down_then_up_is_delivered_once(self, tmp_path: Path, store: WebhookStore,
                                                     clock: Clock) -> None:
        port = free_port()
        write_form(tmp_path / "down", [{"name": "crm", "url": f"http://127.0.0.1:{port}/in",
                                        "events": ["submission.received"]}])
        webhooks = self.service(webhook_settings(tmp_path / "down"), store, clock)
        submission = contact(clock)
        [delivery] = webhooks.emit(_received(submission))
        assert delivery.status == PENDING and delivery.waiting and "no answer" in (delivery.last_error or "")
        assert webhooks.retry_due() == 0  # not due yet
        with running(port) as receiver:
            clock.advance(60)
            assert webhooks.retry_due() == 1
            webhooks(submission)  # the stream record again
            clock.advance(3600)
            webhooks.retry_due()
        assert len(receiver.requests) == 1
        stored = store.get("contact", delivery.event_id, "crm")
        assert stored is not None and stored.status == DELIVERED and stored.attempts == 2

    def test_500_three_times_then_200_is_one_success_after_four_attempts(self, webhooks: WebhookService,
                                                                        receiver: Receiver, clock: Clock,
                                                                        store: WebhookStore) -> None:
        receiver.answer(Answer(500), Answer(502), Answer(503))
        [delivery] = webhooks.emit(_received(contact(clock)))
        for _ in range(3):
            clock.advance(3600)
            webhooks.retry_due()
        stored = store.get("contact", delivery.event_id, "crm")
        assert stored is not None and (stored.status, stored.attempts, stored.last_status) == (DELIVERED, 4, 200)
        assert len(receiver.requests) == 4 and len(set(receiver.webhook_ids)) == 1  # one id on every retry
        assert [json.loads(r.body) for r in receiver.requests].count(json.loads(receiver.requests[0].body)) == 4

    def test_backoff_grows_and_retry_after_is_honoured(self, webhooks: WebhookService, receiver: Receiver,
                                                       clock: Clock, store: WebhookStore) -> None:
        receiver.answer(Answer(503), Answer(503), Answer(429, headers={"Retry-After": "1800"}))
        [delivery] = webhooks.emit(_received(contact(clock)))
        waits = []
        for _ in range(2):
            stored = store.get("contact", delivery.event_id, "crm")
            assert stored is not None and stored.retry_at is not None
            waits.append(stored.retry_at - int(clock().timestamp()))
            clock.advance(stored.retry_at - clock().timestamp())
            webhooks.retry_due()
        assert waits == [30, 60]  # 30 s, then doubled (the test's jitter adds nothing)
        stored = store.get("contact", delivery.event_id, "crm")
        assert stored is not None and stored.retry_at == int(clock().timestamp()) + 1800
        assert stored.last_status == 429 and "429" in (stored.last_error or "")

    def test_slow_receiver_times_out_then_succeeds_on_retry(self, webhooks: WebhookService, receiver: Receiver,
                                                           clock: Clock, store: WebhookStore) -> None:
        receiver.answer(Answer(200, delay=2.5))
        [delivery] = webhooks.emit(_received(contact(clock)))
        assert delivery.status == PENDING and "timed out" in (delivery.last_error or "")
        clock.advance(120)
        webhooks.retry_due()
        stored = store.get("contact", delivery.event_id, "crm")
        assert stored is not None and stored.status == DELIVERED and stored.attempts == 2

    def test_410_disables_the_target_until_an_admin_retries(self, webhooks: WebhookService, receiver: Receiver,
                                                            clock: Clock, store: WebhookStore) -> None:
        receiver.answer(Answer(410))
        [gone] = webhooks.emit(_received(contact(clock)))
        assert gone.status == FAILED and "target disabled" in (gone.last_error or "")
        assert store.disabled("contact", "crm")
        [later] = webhooks.emit(_received(contact(clock)))
        assert later.status == FAILED and "is disabled" in (later.last_error or "")
        assert len(receiver.requests) == 1  # nothing more went to it
        retried = webhooks.retry("contact", later.event_id, "crm")
        assert retried.status == DELIVERED and store.disabled("contact", "crm") is None

    @pytest.mark.parametrize("status", [400, 401, 404, 422])
    def test_other_4xx_fail_at_once(self, webhooks: WebhookService, receiver: Receiver, clock: Clock,
                                    status: int) -> None:
        receiver.answer(Answer(status, body=b"unknown field"))
        [delivery] = webhooks.emit(_received(contact(clock)))
        assert (delivery.status, delivery.attempts, delivery.last_status) == (FAILED, 1, status)
        assert delivery.last_error == f"HTTP {status}: unknown field"

    def test_redirects_are_not_followed(self, webhooks: WebhookService, receiver: Receiver, clock: Clock) -> None:
        receiver.answer(Answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
        [delivery] = webhooks.emit(_received(contact(clock)))
        assert delivery.status == FAILED and "redirects are not followed" in (delivery.last_error or "")
        assert len(receiver.requests) == 1

    def test_a_redelivered_record_sends_nothing_twice(self, webhooks: WebhookService, receiver: Receiver,
                                                      clock: Clock) -> None:
        submission = contact(clock)
        for _ in range(3):
            webhooks(submission)
        assert len(receiver.requests) == 1

    def test_a_deleted_event_is_gone_and_deleting_again_is_harmless(self, webhooks: WebhookService,
                                                                     store: WebhookStore, clock: Clock) -> None:
        from chalicelib.webhooks.events import submission_event
        submission = contact(clock)
        webhooks(submission)
        event_id = submission_event(submission).id
        assert store.event("contact", event_id) is not None
        store.delete_event("contact", event_id)
        store.delete_event("contact", event_id)
        assert store.event("contact", event_id) is None

    def test_spam_owes_no_webhook(self, webhooks: WebhookService, receiver: Receiver, clock: Clock) -> None:
        webhooks(contact(clock, status="spam"))
        assert receiver.requests == []

    def test_kind_filter_and_slack_format(self, webhooks: WebhookService, receiver: Receiver, clock: Clock) -> None:
        webhooks(contact(clock, topic="question"))
        complaint = contact(clock, topic="complaint")
        webhooks(complaint)
        paths = sorted(r.path for r in receiver.requests)
        assert paths == ["/hooks/formloop", "/hooks/formloop", "/hooks/formloop/chat"]
        [slack] = [r for r in receiver.requests if r.path.endswith("/chat")]
        text = json.loads(slack.body)["text"]
        assert text.startswith("New submission to *contact* (complaint)")
        assert "*name*: Ann &lt;b&gt;Lee&lt;/b&gt;" in text  # Slack's control characters escaped
        assert f"/admin/forms/contact/submissions/{complaint.id}|Open the submission>" in text

    def test_missing_secret_fails_naming_its_variable(self, forms_dir: Path, store: WebhookStore, clock: Clock,
                                                      receiver: Receiver) -> None:
        settings = Settings.from_environ({"FORMLOOP_FORMS_DIR": str(forms_dir)})
        [delivery] = self.service(settings, store, clock).emit(_received(contact(clock)))
        assert delivery.status == FAILED and "FORMLOOP_WEBHOOK_SECRET_CRM is missing" in (delivery.last_error or "")
        assert receiver.requests == []

    def test_gives_up_after_the_retry_window(self, forms_dir: Path, store: WebhookStore, clock: Clock,
                                             receiver: Receiver) -> None:
        webhooks = self.service(webhook_settings(forms_dir, FORMLOOP_MAIL_RETRY_HOURS="2"), store, clock)
        receiver.answer(*[Answer(500)] * 50)
        [delivery] = webhooks.emit(_received(contact(clock)))
        for _ in range(20):
            clock.advance(3600)
            webhooks.retry_due()
        stored = store.get("contact", delivery.event_id, "crm")
        assert stored is not None and stored.status == FAILED
        assert "gave up after" in (stored.last_error or "") and "over 2 hours" in (stored.last_error or "")

    def test_gift_events_are_queued_for_the_next_round(self, webhooks: WebhookService, receiver: Receiver,
                                                       clock: Clock) -> None:
        gift = SimpleNamespace(id="g1ft-id-123", campaign="spring-coupon", state="claimed", form="contact",
                               submission_id="01J0000000000000000000000A", language="en")
        webhooks.gift_changed("gift.claimed", gift, clock())
        webhooks.gift_changed("gift.redeemed", gift, clock())  # the target did not ask for this one
        assert receiver.requests == []
        clock.advance(1)
        assert webhooks.retry_due() == 1
        [request] = receiver.requests
        body = Webhook(SECRET).verify(request.body, request.headers)
        assert body["type"] == "gift.claimed" and body["data"]["gift"] == "g1ft-id-123"
        assert "code" not in body["data"]

    def test_replay_sends_every_event_since_a_time_again_with_its_id(self, webhooks: WebhookService,
                                                                      receiver: Receiver, clock: Clock,
                                                                      store: WebhookStore) -> None:
        first = contact(clock)
        webhooks(first)
        clock.advance(60)
        since = clock()
        later = [contact(clock) for _ in range(3)]
        for submission in later:
            webhooks(submission)
        assert len(receiver.requests) == 4
        report = webhooks.replay("contact", "crm", since)
        assert report == {"form": "contact", "target": "crm", "queued": 3, "next": None}
        clock.advance(1)
        webhooks.retry_due()
        assert len(receiver.requests) == 7
        assert sorted(receiver.webhook_ids[4:]) == sorted(receiver.webhook_ids[1:4])  # receivers recognise them
        listed = webhooks.deliveries("contact")
        assert [d.status for d in listed] == [DELIVERED] * 4

    def test_deliveries_list_newest_first_with_status_and_error(self, webhooks: WebhookService,
                                                                receiver: Receiver, clock: Clock) -> None:
        receiver.answer(Answer(400, body=b"bad"))
        webhooks(contact(clock))
        clock.advance(5)
        webhooks(contact(clock))
        listed = [d.as_json() for d in webhooks.deliveries("contact")]
        assert [(d["status"], d["lastError"]) for d in listed] == [("delivered", None), ("failed", "HTTP 400: bad")]

    def test_a_flood_of_500_submissions_is_500_deliveries_none_twice(self, webhooks: WebhookService,
                                                                     receiver: Receiver, clock: Clock) -> None:
        submissions = [contact(clock) for _ in range(500)]
        errors: list[BaseException] = []

        def worker(share: list) -> None:  # type: ignore[type-arg]
            try:
                for submission in share:
                    webhooks(submission)
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        # Four workers, each handed every record twice over (stream redelivery), in different orders.
        shares = [submissions, submissions[::-1], submissions[250:] + submissions[:250], submissions]
        threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        ids = receiver.webhook_ids
        assert len(ids) == 500 and len(set(ids)) == 500


def _received(submission):  # type: ignore[no-untyped-def]
    from chalicelib.webhooks.events import submission_event
    return submission_event(submission)


def test_transport_defaults_outside_local_refuse_http_and_private() -> None:
    transport = WebhookTransport()
    assert transport.require_https and not transport.allow_private
