"""DeliveryService behaviour on the in-memory delivery store (tests/integration/test_delivery_behaviour.py: on
DynamoDB), with a fake mailer that keeps what it is handed."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage

import pytest
from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.mail.content import EmailTemplates
from chalicelib.mail.delivery import LEASE_SECONDS, DeliveryPendingError, DeliveryService
from chalicelib.mail.store import DeliveryStore
from chalicelib.mail.transport import Mailer, MailError, PermanentMailError, TransientMailError
from chalicelib.storage.memory_deliveries import MemoryDeliveryStore

from .support import ROOT, Clock, memory_settings


class FakeMailer:
    """A mail provider that keeps each message, or raises `failure` while it is set."""

    name = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[EmailMessage, list[str]]] = []
        self.calls = 0
        self.failure: MailError | None = None

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        self.sent.append((message, recipients))
        return f"fake-{len(self.sent)}"

    @property
    def recipients(self) -> list[str]:
        """Who each sent message went to, in order."""
        return [", ".join(to) for _, to in self.sent]


def contact(email: str = "ann@example.com", clock: Clock | None = None) -> Submission:
    """A stored contact submission (a question, so the team at team@example.com hears of it)."""
    return Submission(form="contact", id=str(ULID()), created_at=(clock or Clock())(), status="received",
                      answers={"name": "Ann Lee", "email": email, "topic": "question", "message": "Where is it?",
                               "consent": True},
                      feedback_kind="question", language="en", respondent_email=email)


class TestDeliveryService:
    """Each email a submission is owed goes once, waits out an outage, fails on a refusal, and respects the
    per-address daily limit, on whatever store the fixture gives."""

    @pytest.fixture
    def service_settings(self) -> Settings:
        """Settings that reach no database (the DynamoDB subclass gives the test session's)."""
        return memory_settings()

    @pytest.fixture
    def store(self) -> DeliveryStore:
        return MemoryDeliveryStore()

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def mailer(self) -> FakeMailer:
        return FakeMailer()

    @pytest.fixture
    def delivery(self, service_settings: Settings, store: DeliveryStore, mailer: FakeMailer,
                 clock: Clock) -> DeliveryService:
        fake: Mailer = mailer  # the Mailer protocol is all the service asks for
        return DeliveryService(service_settings, FormRegistry(ROOT / "forms"), store, fake,
                               EmailTemplates(ROOT / "forms" / "templates"), clock=clock, sleep=lambda _: None)

    def test_acknowledgement_and_notification_go_once_however_often_offered(
            self, delivery: DeliveryService, mailer: FakeMailer, store: DeliveryStore, clock: Clock) -> None:
        submission = contact(clock=clock)
        first = delivery.deliver(submission)
        again = delivery.deliver(submission)
        assert mailer.recipients == ["ann@example.com", "team@example.com"]
        assert [(d.kind, d.status) for d in first] == [("acknowledgement", "sent"), ("notification", "sent")]
        assert [d.status for d in again] == ["sent", "sent"]
        assert {d.kind: (d.status, d.attempts, d.message_id) for d in store.for_submission("contact", submission.id)
                } == {"acknowledgement": ("sent", 1, "fake-1"), "notification": ("sent", 1, "fake-2")}

    def test_an_email_another_worker_holds_is_left_until_its_lease_lapses(
            self, delivery: DeliveryService, mailer: FakeMailer, store: DeliveryStore, clock: Clock) -> None:
        submission = contact(clock=clock)
        held = store.ensure("contact", submission.id, "acknowledgement", ["ann@example.com"], clock())
        assert store.claim(held, clock(), LEASE_SECONDS) is not None  # a worker claimed it, then crashed
        with pytest.raises(DeliveryPendingError, match="acknowledgement"):
            delivery.deliver(submission)
        assert mailer.recipients == ["team@example.com"]
        clock.advance(seconds=LEASE_SECONDS + 1)
        delivery.deliver(submission)
        delivery.deliver(submission)
        assert mailer.recipients == ["team@example.com", "ann@example.com"]
        ack = store.get("contact", submission.id, "acknowledgement")
        assert ack is not None and (ack.status, ack.attempts) == ("sent", 2)

    def test_spam_is_owed_nothing(self, delivery: DeliveryService, mailer: FakeMailer, store: DeliveryStore) -> None:
        submission = contact()
        submission.status = "spam"
        assert delivery.deliver(submission) == []
        assert mailer.calls == 0 and store.for_submission("contact", submission.id) == []

    def test_an_outage_waits_for_a_later_round(self, delivery: DeliveryService, mailer: FakeMailer,
                                               store: DeliveryStore, clock: Clock, service_settings: Settings) -> None:
        submission = contact(clock=clock)
        mailer.failure = TransientMailError("421 service not available, try again later")
        ack, team = delivery.deliver(submission)
        assert ack.waiting and team.waiting
        assert mailer.calls == 2 * service_settings.mail.max_attempts and mailer.sent == []
        stored = {(submission.form, submission.id): submission}

        def by_key(form: str, submission_id: str) -> Submission | None:
            return stored.get((form, submission_id))

        assert delivery.retry_due(by_key) == 0  # not due yet: nothing is tried
        clock.advance(seconds=61)
        mailer.failure = None
        assert delivery.retry_due(by_key) == 1
        assert mailer.recipients == ["ann@example.com", "team@example.com"]
        assert [d.status for d in store.for_submission("contact", submission.id)] == ["sent", "sent"]
        assert store.due(clock() + timedelta(days=2), 10) == []  # settled: off the waiting list

    def test_an_outage_past_the_retry_window_fails_the_email(self, delivery: DeliveryService, mailer: FakeMailer,
                                                             store: DeliveryStore, clock: Clock,
                                                             service_settings: Settings) -> None:
        submission = contact(clock=clock)
        mailer.failure = TransientMailError("421 try again later")
        delivery.deliver(submission)
        clock.advance(hours=service_settings.mail.retry_hours, seconds=1)
        assert delivery.retry_due(lambda form, submission_id: submission) == 1
        ack = store.get("contact", submission.id, "acknowledgement")
        assert ack is not None and ack.status == "failed" and "gave up" in (ack.last_error or "")
        assert store.due(clock() + timedelta(days=2), 10) == []

    def test_a_permanent_refusal_fails_without_retrying(self, delivery: DeliveryService, mailer: FakeMailer,
                                                       store: DeliveryStore) -> None:
        submission = contact()
        mailer.failure = PermanentMailError("Email address is on the suppression list.")
        delivery.deliver(submission)
        delivery.deliver(submission)  # offered again: a failed email is not tried again
        assert mailer.calls == 2  # one attempt each for the acknowledgement and the notification
        ack = store.get("contact", submission.id, "acknowledgement")
        assert ack is not None and (ack.status, ack.attempts) == ("failed", 1)
        assert "suppression list" in (ack.last_error or "")

    def test_one_acknowledgement_per_address_per_day(self, delivery: DeliveryService, mailer: FakeMailer,
                                                     store: DeliveryStore, clock: Clock) -> None:
        first, second = contact("ann@example.com", clock), contact(" Ann@Example.com", clock)
        delivery.deliver(first)
        delivery.deliver(second)
        assert mailer.recipients == ["ann@example.com", "team@example.com", "team@example.com"]
        skipped = store.get("contact", second.id, "acknowledgement")
        assert skipped is not None and skipped.status == "skipped"
        delivery.deliver(first)  # the first one's own slot is still its own
        clock.advance(days=1)
        delivery.deliver(contact("ann@example.com", clock))  # a new day, a new allowance
        assert mailer.recipients.count("ann@example.com") == 2

    def test_spellings_of_one_mailbox_share_its_daily_acknowledgement(self, delivery: DeliveryService,
                                                                      mailer: FakeMailer, store: DeliveryStore,
                                                                      clock: Clock) -> None:
        spellings = ["victim@gmail.com", "victim+1@gmail.com", "v.ictim@gmail.com", "victim@googlemail.com",
                     "V.I.C.T.I.M+relay@GoogleMail.com", "Victim@Gmail.com"]
        submissions = [contact(address, clock) for address in spellings]
        for submission in submissions:
            delivery.deliver(submission)
        assert mailer.recipients.count("team@example.com") == len(spellings)  # the team hears of every one
        assert [to for to in mailer.recipients if to != "team@example.com"] == ["victim@gmail.com"]
        for later in submissions[1:]:
            ack = store.get("contact", later.id, "acknowledgement")
            assert ack is not None and ack.status == "skipped" and "this address" in (ack.last_error or "")

    def test_acknowledgements_of_one_form_are_capped_per_hour(self, service_settings: Settings,
                                                             store: DeliveryStore, mailer: FakeMailer,
                                                             clock: Clock) -> None:
        settings = replace(service_settings, mail=replace(service_settings.mail,
                                                          acknowledgements_per_form_per_hour=3))
        delivery = DeliveryService(settings, FormRegistry(ROOT / "forms"), store, mailer,
                                   EmailTemplates(ROOT / "forms" / "templates"), clock=clock, sleep=lambda _: None)
        flood = [contact(f"stranger{n}@example.net", clock) for n in range(6)]
        for submission in flood:
            delivery.deliver(submission)
        acknowledged = [to for to in mailer.recipients if to != "team@example.com"]
        assert acknowledged == ["stranger0@example.net", "stranger1@example.net", "stranger2@example.net"]
        assert mailer.recipients.count("team@example.com") == 6
        ack = store.get("contact", flood[3].id, "acknowledgement")
        assert ack is not None and ack.status == "skipped" and "for this form" in (ack.last_error or "")
        delivery.deliver(flood[0])  # asked again, a counted email keeps its place
        clock.advance(hours=1)
        delivery.deliver(contact("stranger9@example.net", clock))  # a new hour, a new allowance
        assert [to for to in mailer.recipients if to != "team@example.com"][-1] == "stranger9@example.net"

    def test_a_form_may_set_its_own_hourly_cap(self, delivery: DeliveryService, mailer: FakeMailer,
                                              clock: Clock) -> None:
        contact_form = delivery.forms.require("contact")
        contact_form.settings["acknowledgement"] = {**contact_form.settings.get("acknowledgement", {}),
                                                    "perFormPerHour": 0}
        delivery.deliver(contact("ann@example.com", clock))
        assert mailer.recipients == ["team@example.com"]


def test_the_hourly_cap_has_a_sane_default_and_a_setting() -> None:
    assert Settings.from_environ({}).mail.acknowledgements_per_form_per_hour == 50
    configured = Settings.from_environ({"FORMLOOP_ACKNOWLEDGEMENTS_PER_FORM_PER_HOUR": "5"})
    assert configured.mail.acknowledgements_per_form_per_hour == 5
