"""Delivery after the write, against DynamoDB Local and its real stream.

SES cannot be reached from here: it is simulated at the botocore boundary with
`botocore.stub.Stubber` on a real `sesv2` client (requests are validated against the SES model).
The outbox backend writes real files in a temporary folder.
"""
from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.intake.service import SubmitRequest
from chalicelib.jobs import handle_stream_record
from chalicelib.mail.content import EmailTemplates
from chalicelib.mail.delivery import LEASE_SECONDS, DeliveryPendingError, DeliveryService
from chalicelib.mail.transport import OutboxMailer, SesMailer, TransientMailError

from .test_submit import CONTACT, post_form, post_json

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def make_delivery(services, mailer, clock=None) -> DeliveryService:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(services.settings, mail=dataclasses.replace(
        services.settings.mail, admin_base_url="https://admin.example.com", sender="Acme <hello@acme.example>"))
    return DeliveryService(settings, services.forms, services.delivery.store, mailer, EmailTemplates(
        ROOT / "forms" / "templates"), clock=clock or Clock(), sleep=lambda seconds: None)


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxMailer:
    return OutboxMailer(tmp_path / "outbox")


def sent(outbox: OutboxMailer) -> list[Any]:
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(outbox.folder.glob("*.eml"))]


def stored(services, form: str = "contact"):  # type: ignore[no-untyped-def]
    return list(services.store.list(form))


def worker_for(services, consumers, tmp_path):  # type: ignore[no-untyped-def]
    """A worker over the session's stream that starts from now (earlier tests' records are not ours)."""
    from formloop_cli import worker
    scoped = dataclasses.replace(services, consumers=consumers)
    reader = worker.StreamWorker(scoped, tmp_path / "checkpoint.json", start="LATEST")
    reader.poll_once()
    return reader


def test_crash_between_write_and_send_is_delivered_by_the_worker(client, services, outbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    delivery = make_delivery(services, outbox)
    reader = worker_for(services, [delivery], tmp_path)
    # The post is stored and answered; nothing is sent inline (as if the process died right after the write).
    assert post_form(client, "contact", CONTACT).status_code == 303
    assert sent(outbox) == []
    # A later worker (a new process: nothing shared but the checkpoint file) reads the real stream and delivers.
    from formloop_cli import worker
    del reader
    later = worker.StreamWorker(dataclasses.replace(services, consumers=[delivery]), tmp_path / "checkpoint.json",
                                start="LATEST")
    assert later.poll_once() == 1
    messages = sent(outbox)
    assert sorted(m["To"] for m in messages) == ["ann@example.com", "support@example.com"]
    [submission] = stored(services)
    assert {d.kind: d.status for d in services.delivery.store.for_submission("contact", submission.id)} == {
        "acknowledgement": "sent", "notification": "sent"}
    assert json.loads((tmp_path / "checkpoint.json").read_text())["shards"], "progress is checkpointed"
    assert later.poll_once() == 0 and len(sent(outbox)) == 2


def test_same_stream_record_twice_sends_once(client, services, outbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    delivery = make_delivery(services, outbox)
    reader = worker_for(services, [], tmp_path)  # reads the record but has no consumer: we replay it by hand
    post_json(client, "contact", {**CONTACT, "consent": True})
    records: list[dict[str, Any]] = []
    for shard in reader._shards():
        iterator = reader.iterators.get(shard["ShardId"])
        if iterator:
            records += reader.streams.get_records(ShardIterator=iterator)["Records"]
    [record] = [r for r in records if r["eventName"] == "INSERT"]
    scoped = dataclasses.replace(services, consumers=[delivery])
    for _ in range(2):
        assert handle_stream_record(scoped, "INSERT", record["dynamodb"]["NewImage"]) == []
    assert len(sent(outbox)) == 2  # one acknowledgement, one notification
    # And through the Lambda handler, with Chalice's own event class: still nothing more.
    from chalice.app import DynamoDBEvent

    import app as app_module
    # As Lambda hands it over: the record's time in epoch seconds (botocore parsed it to a datetime).
    created = record["dynamodb"]["ApproximateCreationDateTime"].timestamp()
    lambda_record = {**record, "eventSourceARN": reader.stream_arn,
                     "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": created}}
    app_module.use_services(scoped)
    try:
        app_module.deliver_stream_batch(DynamoDBEvent({"Records": [lambda_record, lambda_record]}, context=None))
    finally:
        app_module.use_services(services)
    assert len(sent(outbox)) == 2


def test_one_failing_consumer_does_not_stop_the_others(client, services, outbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    delivery = make_delivery(services, outbox)
    seen: list[str] = []

    def broken(submission: Any) -> None:
        raise RuntimeError("boom")

    reader = worker_for(services, [broken, delivery, lambda s: seen.append(s.id)], tmp_path)
    reader.max_record_attempts = 2
    post_json(client, "contact", {**CONTACT, "consent": True})
    assert reader.poll_once() == 0  # the failure keeps the record for another try...
    assert len(sent(outbox)) == 2 and len(seen) == 1  # ...but the other consumers ran
    assert reader.poll_once() == 1  # second try fails again: logged and checkpointed past
    assert len(sent(outbox)) == 2 and len(seen) == 2  # the retry sent nothing twice


def ses_client() -> Any:
    return boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def submit(services, **changes: Any):  # type: ignore[no-untyped-def]
    """Store one contact submission the way a post does (no HTTP, no rate limit per IP)."""
    fields = {**CONTACT, **changes}
    body = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    outcome = services.submissions.submit(SubmitRequest(
        form_id="contact", body=body, headers={"content-type": "application/x-www-form-urlencoded"}))
    return services.store.get("contact", outcome.submission_id)


def test_throttled_three_times_then_success_sends_exactly_one(services) -> None:  # type: ignore[no-untyped-def]
    client = ses_client()
    waits: list[float] = []
    delivery = make_delivery(services, SesMailer(services.settings.mail, "us-east-1", client=client))
    delivery.sleep = waits.append
    submission = submit(services, topic="question")
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error("send_email", service_error_code="TooManyRequestsException",
                                  service_message="Maximum sending rate exceeded.", http_status_code=429)
        for message_id, to in (("ses-ack-1", "ann@example.com"), ("ses-team-1", "team@example.com")):
            stub.add_response("send_email", {"MessageId": message_id}, {
                "FromEmailAddress": "hello@acme.example", "Destination": {"ToAddresses": [to]},
                "Content": {"Raw": {"Data": ANY}}})
        results = delivery.deliver(submission)
        stub.assert_no_pending_responses()
    ack = services.delivery.store.get("contact", submission.id, "acknowledgement")
    assert (ack.status, ack.attempts, ack.message_id) == ("sent", 4, "ses-ack-1")
    assert "TooManyRequestsException" in ack.last_error
    assert waits == [0.2, 0.4, 0.8]  # backoff between attempts
    assert [r.status for r in results] == ["sent", "sent"]


def test_configuration_set_from_settings_is_used(services) -> None:  # type: ignore[no-untyped-def]
    client = ses_client()
    mail = dataclasses.replace(services.settings.mail, ses_configuration_set="formloop-prod")
    mailer = SesMailer(mail, "us-east-1", client=client)
    delivery = make_delivery(services, mailer)
    submission = submit(services, topic="question")
    with Stubber(client) as stub:
        for _ in range(2):
            stub.add_response("send_email", {"MessageId": "m"}, {
                "FromEmailAddress": ANY, "Destination": ANY, "Content": ANY, "ConfigurationSetName": "formloop-prod"})
        delivery.deliver(submission)
        stub.assert_no_pending_responses()


def test_permanent_rejection_marks_failed_and_keeps_the_submission(services) -> None:  # type: ignore[no-untyped-def]
    client = ses_client()
    delivery = make_delivery(services, SesMailer(services.settings.mail, "us-east-1", client=client))
    submission = submit(services, topic="question")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", service_error_code="MessageRejected",
                              service_message="Email address is on the suppression list.", http_status_code=400)
        stub.add_response("send_email", {"MessageId": "team"})
        delivery.deliver(submission)
        delivery.deliver(submission)  # the record again: a failed email is not retried, nothing more is sent
        stub.assert_no_pending_responses()
    ack = services.delivery.store.get("contact", submission.id, "acknowledgement")
    assert (ack.status, ack.attempts) == ("failed", 1)
    assert "suppression list" in ack.last_error
    assert services.store.get("contact", submission.id) == submission


class FlakyOutbox(OutboxMailer):
    """The local outbox behind a mail provider that is down until the test brings it back."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.down = True
        self.calls = 0

    def send(self, message: Any, recipients: list[str]) -> str:
        self.calls += 1
        if self.down:
            raise TransientMailError("421 service not available, try again later")
        return super().send(message, recipients)


def test_an_outage_longer_than_a_round_waits_for_a_later_round(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock, mailer = Clock(), FlakyOutbox(tmp_path / "outbox")
    delivery = make_delivery(services, mailer, clock)
    submission = submit(services, topic="question")
    ack, team = delivery.deliver(submission)  # the stream's offer: no DeliveryPendingError, nothing blocks it
    assert (ack.status, team.status) == ("pending", "pending") and ack.waiting and team.waiting
    assert mailer.calls == 2 * services.settings.mail.max_attempts
    stored_ack = services.delivery.store.get("contact", submission.id, "acknowledgement")
    assert stored_ack.retry_at == int((clock() + timedelta(seconds=60)).timestamp())
    assert "next in 1 min" in stored_ack.last_error and "421" in stored_ack.last_error
    load = services.store.get

    assert delivery.retry_due(load) == 0  # not due yet: nothing is tried
    clock.now += timedelta(seconds=61)
    assert delivery.retry_due(load) == 1  # still down: a second round, then a longer wait
    assert services.delivery.store.get("contact", submission.id, "notification").retry_at == int(
        (clock() + timedelta(seconds=120)).timestamp())
    mailer.down = False
    clock.now += timedelta(seconds=121)
    assert delivery.retry_due(load) == 1
    assert [m["To"] for m in sent(mailer)] == ["ann@example.com", "team@example.com"]
    settled = services.delivery.store.for_submission("contact", submission.id)
    assert {(d.kind, d.status, d.retry_at) for d in settled} == {
        ("acknowledgement", "sent", None), ("notification", "sent", None)}
    clock.now += timedelta(hours=1)
    assert delivery.retry_due(load) == 0 and len(sent(mailer)) == 2
    assert services.delivery.store.due(clock() + timedelta(days=2), 10) == []  # settled: off the waiting list


def test_a_later_round_that_dies_midway_is_found_again(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock, mailer = Clock(), FlakyOutbox(tmp_path / "outbox")
    delivery = make_delivery(services, mailer, clock)
    submission = submit(services, topic="idea")
    delivery.deliver(submission)
    clock.now += timedelta(seconds=61)
    store = services.delivery.store
    ack = store.get("contact", submission.id, "acknowledgement")
    assert store.claim(ack, clock(), LEASE_SECONDS) is not None  # a sweep claims it ... and dies here
    mailer.down = False
    assert delivery.retry_due(services.store.get) == 1  # the notification goes; the claimed one is left alone
    assert [m["To"] for m in sent(mailer)] == ["team@example.com"]
    clock.now += timedelta(seconds=LEASE_SECONDS + 1)
    assert delivery.retry_due(services.store.get) == 1  # still on the waiting list: its lease has lapsed
    assert sorted(m["To"] for m in sent(mailer)) == ["ann@example.com", "team@example.com"]
    assert delivery.retry_due(services.store.get) == 0


def test_emails_fail_once_the_retry_window_is_over(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock, mailer = Clock(), FlakyOutbox(tmp_path / "outbox")
    delivery = make_delivery(services, mailer, clock)
    submission = submit(services, topic="question")
    delivery.deliver(submission)
    clock.now += timedelta(hours=services.settings.mail.retry_hours)
    assert delivery.retry_due(services.store.get) == 1
    ack = services.delivery.store.get("contact", submission.id, "acknowledgement")
    assert ack.status == "failed" and ack.retry_at is None
    assert f"gave up after {2 * services.settings.mail.max_attempts} attempts over" in ack.last_error
    assert services.store.get("contact", submission.id) == submission  # the submission itself is kept


def test_waiting_emails_of_a_submission_no_longer_stored_are_closed(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock, mailer = Clock(), FlakyOutbox(tmp_path / "outbox")
    delivery = make_delivery(services, mailer, clock)
    submission = submit(services, topic="question")
    delivery.deliver(submission)
    services.store.submissions.get("contact", submission.id).delete()  # erased meanwhile
    clock.now += timedelta(minutes=2)
    assert delivery.retry_due(services.store.get) == 0
    assert {d.status for d in services.delivery.store.for_submission("contact", submission.id)} == {"failed"}
    assert sent(mailer) == []


def test_the_scheduled_sweep_sends_what_is_due(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # What the 5-minute schedule (AWS) and the local worker (every 30 s) call.
    from chalicelib.jobs import retry_waiting_emails
    clock, mailer = Clock(), FlakyOutbox(tmp_path / "outbox")
    delivery = make_delivery(services, mailer, clock)
    submission = submit(services, topic="praise")
    delivery.deliver(submission)
    scoped = dataclasses.replace(services, delivery=delivery)
    mailer.down = False
    assert retry_waiting_emails(scoped) == 0 and sent(mailer) == []  # the next round is a minute away
    clock.now += timedelta(seconds=61)
    assert retry_waiting_emails(scoped) == 1
    assert len(sent(mailer)) == 2
    assert retry_waiting_emails(scoped) == 0  # sent: nothing waits any more


def test_crash_after_claim_is_sent_once_after_the_lease(services, outbox) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    delivery = make_delivery(services, outbox, clock)
    submission = submit(services, topic="idea")
    store = services.delivery.store
    for kind, to in (("acknowledgement", ["ann@example.com"]), ("notification", ["team@example.com"])):
        claimed = store.claim(store.ensure("contact", submission.id, kind, to, clock()), clock(), LEASE_SECONDS)
        assert claimed is not None  # ... and the worker that claimed it dies here
    with pytest.raises(DeliveryPendingError):
        delivery.deliver(submission)  # redelivered too soon: the claims still hold, nothing is sent
    assert sent(outbox) == []
    clock.now += timedelta(seconds=LEASE_SECONDS + 1)
    delivery.deliver(submission)
    delivery.deliver(submission)
    assert len(sent(outbox)) == 2


def test_fifty_posts_naming_a_stranger_send_one_acknowledgement(services, outbox) -> None:  # type: ignore[no-untyped-def]
    delivery = make_delivery(services, outbox)
    submissions = [submit(services, email="stranger@example.org", topic="praise", message=f"spam {i}")
                   for i in range(50)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(delivery.deliver, submissions))
    acknowledgements = [m for m in sent(outbox) if m["To"] == "stranger@example.org"]
    assert len(acknowledgements) == 1
    statuses = [services.delivery.store.get("contact", s.id, "acknowledgement").status for s in submissions]
    assert statuses.count("sent") == 1 and statuses.count("skipped") == 49
    assert len([m for m in sent(outbox) if m["To"] == "team@example.com"]) == 50  # the team still hears of each


def test_per_address_limit_is_configurable_per_form(services, outbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    definition = json.loads((ROOT / "forms" / "contact.json").read_text())
    definition["$id"] = "limited"
    definition["x-form"]["acknowledgement"]["perAddressPerDay"] = 3
    (forms_dir / "limited.json").write_text(json.dumps(definition))
    from chalicelib.core.submission import Submission
    from chalicelib.forms.definitions import FormRegistry
    delivery = make_delivery(services, outbox)
    delivery.forms = FormRegistry(forms_dir)
    base = submit(services)
    for i in range(5):
        delivery.deliver(Submission(**{**dataclasses.asdict(base), "form": "limited", "id": f"{base.id}{i}"}))
    assert len([m for m in sent(outbox) if m["To"] == "ann@example.com"]) == 3


def test_spam_gets_no_email(client, services, outbox) -> None:  # type: ignore[no-untyped-def]
    post_form(client, "contact", {**CONTACT, "_gotcha": "http://spam.example"})
    [spam] = stored(services)
    assert spam.status == "spam"
    assert make_delivery(services, outbox).deliver(spam) == []
    assert sent(outbox) == []


def test_team_notification_reply_to_kind_and_link(services, outbox) -> None:  # type: ignore[no-untyped-def]
    submission = submit(services, topic="referral", email="lead@example.net")
    make_delivery(services, outbox).deliver(submission)
    [team] = [m for m in sent(outbox) if m["To"] == "sales@example.com"]
    assert team["Reply-To"] == "lead@example.net"
    assert team["Subject"].startswith("[referral] ")
    assert team["From"] == "Acme <hello@acme.example>"
    link = f"https://admin.example.com/admin/cases/contact/{submission.id}"
    assert link in team.get_body(("plain",)).get_content()
    assert (outbox.folder / f"{sorted(p.stem for p in outbox.folder.glob('*.eml'))[0]}.html").is_file()


def test_team_notification_in_the_language_the_form_names(services, outbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from chalicelib.forms.definitions import FormRegistry
    definition = json.loads((ROOT / "forms" / "contact.json").read_text())
    definition["x-form"]["notify"]["language"] = "ru"
    (tmp_path / "contact.json").write_text(json.dumps(definition))
    delivery = make_delivery(services, outbox)
    delivery.forms = FormRegistry(tmp_path)
    submission = submit(services, topic="question")
    delivery.deliver(submission)
    [team] = [m for m in sent(outbox) if m["To"] == "team@example.com"]
    body = team.get_body(("plain",)).get_content()
    assert "Открыть заявку" in body and "Open the submission" not in body
    assert team["Subject"].startswith("[question] ") and "новая заявка" in team["Subject"]


@pytest.mark.parametrize("field", ["_replyto", "_subject"])
def test_line_breaks_in_single_line_values_are_refused_at_submission(client, services, field) -> None:  # type: ignore[no-untyped-def]
    value = "ann@example.com\r\nBcc: victims@example.org" if field == "_replyto" else "Hi\nBcc: v@example.org"
    response = post_json(client, "contact", {**CONTACT, "consent": True, field: value})
    assert response.status_code == 422
    assert [e["field"] for e in response.json_body["errors"]] == [field]
    assert stored(services) == []


def test_outbox_page_is_local_only(client, services, outbox) -> None:  # type: ignore[no-untyped-def]
    import app as app_module
    delivery = make_delivery(services, outbox)
    delivery.deliver(submit(services, topic="praise"))
    app_module.use_services(dataclasses.replace(services, delivery=delivery))
    page = client.http.get("/outbox")
    assert page.status_code == 200 and b"We received your message: Contact us" in page.body
    name = sorted(p.stem for p in outbox.folder.glob("*.eml"))[0]
    one = client.http.get(f"/outbox/{name}")
    assert one.status_code == 200 and b"<html" in one.body
    assert client.http.get("/outbox/..%2Fsecrets").status_code == 404
    app_module.use_services(dataclasses.replace(services, delivery=delivery, settings=dataclasses.replace(
        services.settings, stage="prod")))
    assert client.http.get("/outbox").status_code == 404


def test_missing_sender_fails_the_emails_not_the_submission(client, services, outbox) -> None:  # type: ignore[no-untyped-def]
    delivery = make_delivery(services, outbox)
    delivery.mail = dataclasses.replace(delivery.mail, sender="")
    response = post_json(client, "contact", {**CONTACT, "consent": True})
    assert response.status_code == 201  # a mail misconfiguration never refuses a post
    submission = services.store.get("contact", response.json_body["id"])
    results = delivery.deliver(submission)
    assert [r.status for r in results] == ["failed", "failed"] and sent(outbox) == []
    assert "FORMLOOP_MAIL_FROM is missing" in (results[0].last_error or "")
