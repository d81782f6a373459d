"""CaseService behaviour on the in-memory case store (tests/integration/test_case_behaviour.py: on DynamoDB):
a case per submission, due times per kind with a fake clock, the inbox order and filters, attributed status
changes, and replies sent through the delivery records, threaded under the acknowledgement."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ulid import ULID

from chalicelib.cases.model import ANSWERED, INBOX, NEW, RESOLVED, SPAM, InboxQuery
from chalicelib.cases.reactions import due_time
from chalicelib.cases.service import CaseService
from chalicelib.cases.store import CaseStore
from chalicelib.core.config import Settings
from chalicelib.core.errors import ConflictError, MalformedRequestError, NotFoundError
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.mail.content import EmailTemplates
from chalicelib.mail.delivery import DeliveryService
from chalicelib.mail.store import DeliveryStore
from chalicelib.mail.transport import PermanentMailError, TransientMailError
from chalicelib.storage.memory import MemorySubmissionStore
from chalicelib.storage.memory_cases import MemoryCaseStore
from chalicelib.storage.memory_deliveries import MemoryDeliveryStore

from .support import ROOT, Clock, memory_settings
from .test_delivery_service import FakeMailer


def contact(clock: Clock, kind: str = "question", email: str = "ann@example.com", status: str = "received",
            language: str = "en") -> Submission:
    """A stored contact submission of one feedback kind."""
    return Submission(form="contact", id=str(ULID.from_datetime(clock())), created_at=clock(), status=status,
                      answers={"name": "Ann Lee", "email": email, "topic": kind, "message": "Where is it?",
                               "consent": True},
                      feedback_kind=kind, language=language, respondent_email=email, origin="https://acme.example")


class TestCaseService:
    """The same behaviour on whatever case and delivery stores the fixtures give."""

    @pytest.fixture
    def service_settings(self) -> Settings:
        return memory_settings()

    @pytest.fixture
    def store(self) -> CaseStore:
        return MemoryCaseStore()

    @pytest.fixture
    def delivery_store(self) -> DeliveryStore:
        return MemoryDeliveryStore()

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def mailer(self) -> FakeMailer:
        return FakeMailer()

    @pytest.fixture
    def submissions(self) -> MemorySubmissionStore:
        return MemorySubmissionStore()

    @pytest.fixture
    def cases(self, service_settings: Settings, store: CaseStore, delivery_store: DeliveryStore,
              mailer: FakeMailer, clock: Clock, submissions: MemorySubmissionStore) -> CaseService:
        forms = FormRegistry(ROOT / "forms")
        service = CaseService(forms, store, submissions.get, clock=clock)
        delivery = DeliveryService(service_settings, forms, delivery_store, mailer,
                                   EmailTemplates(ROOT / "forms" / "templates"), clock=clock, sleep=lambda _: None)
        service.delivery = delivery
        delivery.planners.append(service.planned_replies)
        return service

    def stored(self, cases: CaseService, submissions: MemorySubmissionStore, submission: Submission) -> Submission:
        """Store a submission and run the consumers on it (the case, then the emails it is owed, set aside)."""
        submissions.items[(submission.form, submission.id)] = submission
        cases(submission)
        assert cases.delivery is not None
        mailer = cases.delivery.mailer
        cases.delivery.deliver(submission)
        mailer.sent.clear()  # type: ignore[attr-defined]  # the fake's: what follows is the replies alone
        return submission

    def test_a_submission_opens_one_case_however_often_it_is_seen(self, cases: CaseService, clock: Clock,
                                                                     submissions: MemorySubmissionStore) -> None:
        submission = self.stored(cases, submissions, contact(clock))
        cases(submission)
        case = cases.get("contact", submission.id)
        assert (case.status, case.kind, case.folder, case.respondent) == (NEW, "question", INBOX, "ann@example.com")
        assert case.source == "https://acme.example"
        assert cases.inbox(InboxQuery()).cases == [case]

    @pytest.mark.parametrize(("kind", "due"), [("complaint", timedelta(hours=24)), ("idea", timedelta(days=7)),
                                               ("question", timedelta(hours=24)), ("praise", None),
                                               ("referral", timedelta(days=1))])
    def test_each_kind_is_due_by_its_standard_reaction(self, cases: CaseService, clock: Clock,
                                                        submissions: MemorySubmissionStore, kind: str,
                                                        due: timedelta | None) -> None:
        submission = self.stored(cases, submissions, contact(clock, kind))
        case = cases.get("contact", submission.id)
        assert case.due_at == (clock() + due if due else None)
        assert not case.overdue(clock())
        clock.advance(days=8)
        assert case.overdue(clock()) is (due is not None)

    def test_overdue_cases_come_first_and_the_overdue_filter_shows_only_them(
            self, cases: CaseService, clock: Clock, submissions: MemorySubmissionStore) -> None:
        idea = self.stored(cases, submissions, contact(clock, "idea"))
        clock.advance(hours=1)
        praise = self.stored(cases, submissions, contact(clock, "praise"))
        question = self.stored(cases, submissions, contact(clock, "question"))
        clock.advance(hours=30)  # the question is late; the idea is not yet
        shown = [case.submission_id for case in cases.inbox(InboxQuery()).cases]
        assert shown == [question.id, idea.id, praise.id]
        assert [c.submission_id for c in cases.inbox(InboxQuery(overdue=True)).cases] == [question.id]

    def test_filters_and_search_by_address(self, cases: CaseService, clock: Clock,
                                           submissions: MemorySubmissionStore) -> None:
        ann = self.stored(cases, submissions, contact(clock, "idea"))
        bob = self.stored(cases, submissions, contact(clock, "question", email="bob@example.com"))
        spam = self.stored(cases, submissions, contact(clock, "question", status="spam"))
        assert [c.submission_id for c in cases.inbox(InboxQuery(kind="idea")).cases] == [ann.id]
        assert [c.submission_id for c in cases.inbox(InboxQuery(form="contact", kind="question")).cases] == [bob.id]
        assert [c.submission_id for c in cases.inbox(InboxQuery(address="BOB@example.com")).cases] == [bob.id]
        assert [c.submission_id for c in cases.inbox(InboxQuery(folder=SPAM)).cases] == [spam.id]
        cases.change_status("contact", ann.id, RESOLVED, "ann")
        assert [c.submission_id for c in cases.inbox(InboxQuery(status=RESOLVED)).cases] == [ann.id]
        assert cases.inbox(InboxQuery(since=clock() + timedelta(days=1))).cases == []

    def test_the_source_filter_reads_its_own_index(self, cases: CaseService, clock: Clock,
                                                   submissions: MemorySubmissionStore) -> None:
        from dataclasses import replace
        newsletter = self.stored(cases, submissions, replace(contact(clock, "idea"),
                                                              source={"utm_source": "Newsletter"}))
        blog = self.stored(cases, submissions, replace(contact(clock, "question", email="bob@example.com"),
                                                        source={"page": "https://blog.example/post"}))
        plain = self.stored(cases, submissions, contact(clock, "idea"))  # no source: its origin stands for it
        assert cases.get("contact", newsletter.id).source == "newsletter"
        assert [c.submission_id for c in cases.inbox(InboxQuery(source="newsletter")).cases] == [newsletter.id]
        assert [c.submission_id for c in cases.inbox(InboxQuery(source="blog.example")).cases] == [blog.id]
        assert [c.submission_id for c in cases.inbox(InboxQuery(source="https://acme.example")).cases] == [plain.id]
        assert cases.inbox(InboxQuery(source="newsletter", kind="question")).cases == []
        assert cases.inbox(InboxQuery(source="newsletter", address="bob@example.com")).cases == []
        assert cases.inbox(InboxQuery(source="blog.example", address="BOB@example.com")).cases[0].submission_id \
            == blog.id

    def test_pages_follow_one_another_without_gaps(self, cases: CaseService, clock: Clock,
                                                   submissions: MemorySubmissionStore) -> None:
        made = []
        for _ in range(5):
            made.append(self.stored(cases, submissions, contact(clock, "praise")).id)
            clock.advance(minutes=1)
        first = cases.inbox(InboxQuery(), limit=2)
        second = cases.inbox(InboxQuery(), first.next_after, limit=2)
        third = cases.inbox(InboxQuery(), second.next_after, limit=2)
        seen = [c.submission_id for page in (first, second, third) for c in page.cases]
        assert seen == list(reversed(made))  # newest first when nothing is due
        assert third.next_after is None

    def test_a_status_change_is_recorded_with_who_and_when(self, cases: CaseService, clock: Clock,
                                                           submissions: MemorySubmissionStore) -> None:
        submission = self.stored(cases, submissions, contact(clock, "complaint"))
        clock.advance(hours=2)
        case = cases.change_status("contact", submission.id, RESOLVED, "ann", "refunded")
        [change] = case.history
        assert (change.who, change.old, change.new, change.note, change.at) == ("ann", NEW, RESOLVED, "refunded",
                                                                                clock())
        assert cases.get("contact", submission.id).history == [change]
        with pytest.raises(MalformedRequestError):
            cases.change_status("contact", submission.id, "lost", "ann")

    def test_a_change_over_a_stale_page_is_a_conflict(self, cases: CaseService, clock: Clock,
                                                      submissions: MemorySubmissionStore) -> None:
        submission = self.stored(cases, submissions, contact(clock))
        seen = cases.get("contact", submission.id).version
        cases.change_status("contact", submission.id, "open", "ann", version=seen)
        with pytest.raises(ConflictError):
            cases.change_status("contact", submission.id, RESOLVED, "bob", version=seen)

    def test_a_reply_is_emailed_threaded_and_answers_the_case(self, cases: CaseService, clock: Clock,
                                                              submissions: MemorySubmissionStore,
                                                              mailer: FakeMailer) -> None:
        submission = self.stored(cases, submissions, contact(clock, "question", language="ru"))
        clock.advance(hours=30)
        case = cases.reply("contact", submission.id, "It ships on Monday.", "ann")
        assert case.status == ANSWERED and not case.overdue(clock())
        assert [(c.who, c.old, c.new) for c in case.history] == [("ann", NEW, ANSWERED)]
        [(message, to)] = mailer.sent
        assert to == ["ann@example.com"]
        thread = f"<contact.{submission.id}.acknowledgement@localhost>"
        assert message["In-Reply-To"] == thread and message["References"] == thread
        assert message["Subject"].startswith("Re: Мы получили ваше сообщение")
        assert "It ships on Monday." in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        cases.delivery.deliver(submission)  # type: ignore[union-attr]  # the stream sees it again: nothing twice
        assert len(mailer.sent) == 1

    def test_a_reply_waits_out_an_outage_and_goes_in_a_later_round(self, cases: CaseService, clock: Clock,
                                                                    submissions: MemorySubmissionStore,
                                                                    mailer: FakeMailer) -> None:
        submission = self.stored(cases, submissions, contact(clock, "question"))
        mailer.failure = TransientMailError("provider down")
        case = cases.reply("contact", submission.id, "Answer.", "ann")
        assert case.status == ANSWERED and mailer.sent == []
        mailer.failure = None
        clock.advance(minutes=5)
        assert cases.delivery.retry_due(submissions.get) == 1  # type: ignore[union-attr]
        assert [to for _, to in mailer.sent] == [["ann@example.com"]]

    def test_nobody_to_reply_to_is_a_clear_refusal(self, cases: CaseService, clock: Clock,
                                                   submissions: MemorySubmissionStore) -> None:
        spam = self.stored(cases, submissions, contact(clock, status="spam"))
        with pytest.raises(ConflictError, match="spam"):
            cases.reply("contact", spam.id, "Hello", "ann")
        with pytest.raises(MalformedRequestError):
            cases.reply("contact", spam.id, "   ", "ann")


    def test_the_digest_lists_each_overdue_case_once_a_day(self, cases: CaseService, clock: Clock,
                                                            submissions: MemorySubmissionStore,
                                                            mailer: FakeMailer) -> None:
        question = self.stored(cases, submissions, contact(clock, "question"))
        answered = self.stored(cases, submissions, contact(clock, "complaint", email="bob@example.com"))
        self.stored(cases, submissions, contact(clock, "idea"))  # due in a week
        cases.reply("contact", answered.id, "Sorry, fixed.", "ann")
        mailer.sent.clear()
        assert cases.overdue_digest() == 0  # nothing is late yet
        clock.advance(hours=25)
        assert cases.overdue_digest() == 1
        [(message, to)] = mailer.sent
        assert to == ["team@example.com"] and message["Subject"].startswith("[overdue]")
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"/admin/cases/contact/{question.id}" in body and answered.id not in body
        clock.advance(hours=1)
        assert cases.overdue_digest() == 0 and len(mailer.sent) == 1  # once a day, however often it runs
        assert cases.overdue_digest() == 0  # and in the same hour it does not even look
        clock.advance(days=1)
        assert cases.overdue_digest() == 1  # still late the next day: listed again

    def test_a_digest_that_could_not_be_sent_is_tried_again(self, cases: CaseService, clock: Clock,
                                                            submissions: MemorySubmissionStore,
                                                            mailer: FakeMailer) -> None:
        self.stored(cases, submissions, contact(clock, "question"))
        clock.advance(hours=25)
        mailer.failure = TransientMailError("provider down")
        assert cases.overdue_digest() == 0
        mailer.failure = None
        clock.advance(hours=1)  # the next hourly round
        assert cases.overdue_digest() == 1

    def test_a_resolved_complaint_asks_the_client_whether_it_is_fixed(
            self, cases: CaseService, clock: Clock, submissions: MemorySubmissionStore, mailer: FakeMailer) -> None:
        complaint = self.stored(cases, submissions, contact(clock, "complaint", language="ru"))
        cases.change_status("contact", complaint.id, "open", "ann")
        assert mailer.sent == []  # only resolving asks
        clock.advance(hours=3)
        case = cases.change_status("contact", complaint.id, RESOLVED, "ann", "replaced the part")
        [(message, to)] = mailer.sent
        assert to == ["ann@example.com"] and message["Subject"].startswith("Проблема решена?")
        thread = f"<contact.{complaint.id}.acknowledgement@localhost>"
        assert message["In-Reply-To"] == thread and message["References"] == thread
        assert [letter.kind for letter in case.letters] == ["fixed"]
        assert [d.status for d in cases.delivery.store.for_submission("contact", complaint.id)  # type: ignore[union-attr]
                if d.kind.startswith("fixed-")] == ["sent"]
        cases.delivery.deliver(submissions.get("contact", complaint.id))  # type: ignore[union-attr, arg-type]
        assert len(mailer.sent) == 1  # seen again: nothing twice
        question = self.stored(cases, submissions, contact(clock, "question"))  # (sets the acknowledgement aside)
        cases.change_status("contact", question.id, RESOLVED, "ann")
        assert mailer.sent == []  # a question is answered by the reply, not asked about

    def test_an_idea_s_decision_is_recorded_and_told_to_the_client(
            self, cases: CaseService, clock: Clock, submissions: MemorySubmissionStore, mailer: FakeMailer) -> None:
        idea = self.stored(cases, submissions, contact(clock, "idea"))
        clock.advance(days=2)
        case = cases.decide("contact", idea.id, "accepted", "It ships in the spring release.", "bob")
        assert case.status == RESOLVED and case.decision is not None
        assert (case.decision.decision, case.decision.note, case.decision.who) == (
            "accepted", "It ships in the spring release.", "bob")
        assert [(c.who, c.new, c.note) for c in case.history] == [
            ("bob", RESOLVED, "accepted: It ships in the spring release.")]
        [(message, to)] = mailer.sent
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert to == ["ann@example.com"] and "decided to do it" in body and "spring release" in body
        assert message["In-Reply-To"] == f"<contact.{idea.id}.acknowledgement@localhost>"
        with pytest.raises(MalformedRequestError):
            cases.decide("contact", idea.id, "maybe", "", "bob")
        question = self.stored(cases, submissions, contact(clock, "question"))
        with pytest.raises(ConflictError, match="idea"):
            cases.decide("contact", question.id, "declined", "", "bob")

    def test_praise_is_thanked_after_the_delay_once(self, cases: CaseService, clock: Clock,
                                                    submissions: MemorySubmissionStore, mailer: FakeMailer) -> None:
        praise = self.stored(cases, submissions, contact(clock, "praise"))
        delivery = cases.delivery
        assert delivery is not None
        clock.advance(minutes=119)
        assert delivery.retry_due(submissions.get) == 0 and mailer.sent == []  # not before the form's delay
        clock.advance(minutes=2)  # the email schedule's next round
        assert delivery.retry_due(submissions.get) == 1
        [(message, to)] = mailer.sent
        assert to == ["ann@example.com"] and message["Subject"].startswith("Thank you")
        assert message["In-Reply-To"] == f"<contact.{praise.id}.acknowledgement@localhost>"
        cases(praise)  # the consumer seen again books nothing new
        clock.advance(hours=5)
        delivery.retry_due(submissions.get)
        delivery.deliver(praise)
        assert len(mailer.sent) == 1

    def test_a_referral_s_outcome_is_recorded(self, cases: CaseService, clock: Clock,
                                              submissions: MemorySubmissionStore, mailer: FakeMailer) -> None:
        referral = self.stored(cases, submissions, contact(clock, "referral"))
        case = cases.record_outcome("contact", referral.id, "Called; demo booked for Friday.", "ann")
        assert case.status == RESOLVED and case.outcome == "Called; demo booked for Friday."
        assert cases.get("contact", referral.id).outcome == case.outcome
        assert [(c.who, c.new) for c in case.history] == [("ann", RESOLVED)] and mailer.sent == []
        with pytest.raises(MalformedRequestError):
            cases.record_outcome("contact", referral.id, "  ", "ann")

    def test_a_failed_email_is_resent_from_the_case(self, cases: CaseService, clock: Clock,
                                                    submissions: MemorySubmissionStore, mailer: FakeMailer) -> None:
        submission = contact(clock, "question")
        submissions.items[(submission.form, submission.id)] = submission
        cases(submission)
        mailer.failure = PermanentMailError("mailbox unavailable")
        assert cases.delivery is not None
        cases.delivery.deliver(submission)
        store = cases.delivery.store
        assert store.get("contact", submission.id, "acknowledgement").status == "failed"  # type: ignore[union-attr]
        mailer.failure = None
        clock.advance(hours=1)
        case = cases.resend("contact", submission.id, "acknowledgement", "ann")
        [(message, to)] = mailer.sent  # the acknowledgement alone: the failed notification waits for its own resend
        assert to == ["ann@example.com"] and message["Subject"].startswith("We received your message")
        assert store.get("contact", submission.id, "acknowledgement").status == "sent"  # type: ignore[union-attr]
        assert [(c.who, c.note, c.at) for c in case.history] == [("ann", "resent the acknowledgement", clock())]
        with pytest.raises(ConflictError, match="failed or was skipped"):
            cases.resend("contact", submission.id, "acknowledgement", "ann")  # sent: once is enough
        for kind in ("x" * 5000, ""):  # a form posted without the field names no email (DynamoDB keys are never empty)
            with pytest.raises(NotFoundError):
                cases.resend("contact", submission.id, kind, "ann")


def test_a_form_overrides_a_kind_s_due_time() -> None:
    clock = Clock()
    settings = {"reactions": {"complaint": {"dueHours": 4}, "idea": {"dueHours": None}}}
    assert due_time(settings, "complaint", clock()) == clock() + timedelta(hours=4)
    assert due_time(settings, "idea", clock()) is None
    assert due_time(settings, "question", clock()) == clock() + timedelta(hours=24)
    assert due_time(settings, None, clock()) is None


def test_the_inbox_reads_only_the_cases_it_shows() -> None:
    store, clock = MemoryCaseStore(), Clock()
    cases = CaseService(FormRegistry(ROOT / "forms"), store, lambda form, id: None, clock=clock)
    for _ in range(60):
        cases(contact(clock, "praise"))
    cases.inbox(InboxQuery(), limit=25)
    assert store.reads == 25


def test_the_praise_thank_you_waits_the_form_s_delay_and_links_the_next_product(tmp_path: Path) -> None:
    import json
    definition = json.loads((ROOT / "forms" / "contact.json").read_text())
    definition["x-form"]["reactions"] = {"praise": {"delayHours": 5, "nextProduct": {
        "url": "https://acme.example/pro", "title": {"en": "Acme Pro"}}}}
    (tmp_path / "contact.json").write_text(json.dumps(definition))
    forms, clock, mailer, submissions = FormRegistry(tmp_path), Clock(), FakeMailer(), MemorySubmissionStore()
    cases = CaseService(forms, MemoryCaseStore(), submissions.get, clock=clock)
    cases.delivery = DeliveryService(memory_settings(), forms, MemoryDeliveryStore(), mailer,
                                     EmailTemplates(ROOT / "forms" / "templates"), clock=clock, sleep=lambda _: None)
    cases.delivery.planners.append(cases.planned_replies)
    praise = contact(clock, "praise")
    submissions.items[(praise.form, praise.id)] = praise
    cases(praise)
    cases.delivery.deliver(praise)  # the acknowledgement and the team's notification, at once
    mailer.sent.clear()
    clock.advance(hours=4, minutes=59)
    assert cases.delivery.retry_due(submissions.get) == 0 and mailer.sent == []
    clock.advance(minutes=2)
    assert cases.delivery.retry_due(submissions.get) == 1
    [(message, _)] = mailer.sent
    assert "You might also like: Acme Pro\nhttps://acme.example/pro" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert 'href="https://acme.example/pro"' in message.get_body(("html",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("praise", [{"delayHours": -1}, {"delayHours": "2"},
                                    {"nextProduct": {"url": "javascript:alert(1)"}},
                                    {"nextProduct": {"url": "http://plain.example"}}, {"nextProduct": {}},
                                    {"thanks": True}])
def test_a_praise_reaction_the_checks_refuse_names_itself(tmp_path: Path, praise: dict[str, object]) -> None:
    import json

    from chalicelib.core.errors import DefinitionError
    definition = json.loads((ROOT / "forms" / "contact.json").read_text())
    definition["x-form"]["reactions"] = {"praise": praise}
    (tmp_path / "contact.json").write_text(json.dumps(definition))
    with pytest.raises(DefinitionError, match="reactions"):
        FormRegistry(tmp_path).get("contact")
