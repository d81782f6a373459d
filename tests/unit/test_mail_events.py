"""After the write: a poison stream record fails alone, and SES bounces and complaints reach their delivery."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.jobs import failed_stream_records, record_mail_events
from chalicelib.mail.bounces import BOUNCED, COMPLAINED, parse_mail_event
from chalicelib.mail.content import message_id_for
from chalicelib.mail.records import SENT, SKIPPED
from chalicelib.wiring import MemoryStores, Services, build_memory_services

from .services.support import memory_settings
from .services.test_delivery_service import FakeMailer, contact

SENDER = "Formloop <forms@example.com>"


@dataclass
class Record:
    """A stream record as Chalice hands it over (only what the handler reads)."""

    event_name: str
    new_image: Any
    sequence_number: str


def _services(stores: MemoryStores | None = None) -> Services:
    return build_memory_services(memory_settings(), stores, mailer=FakeMailer())


def test_a_poison_record_is_the_only_one_reported() -> None:
    services = build_memory_services(memory_settings())
    seen: list[str] = []
    services.consumers = [lambda submission: seen.append(submission.id)]
    services.store = _ImageStore()  # type: ignore[assignment]
    records = [Record("INSERT", {"id": "good"}, "100"), Record("INSERT", {"poison": True}, "200"),
               Record("MODIFY", {"poison": True}, "300")]
    assert failed_stream_records(services, records) == ["200"]
    assert seen == ["good"]


def test_a_failing_consumer_reports_its_record() -> None:
    services = build_memory_services(memory_settings())

    def broken(submission: Any) -> None:
        raise RuntimeError("provider down")

    services.consumers = [broken]
    services.store = _ImageStore()  # type: ignore[assignment]
    assert failed_stream_records(services, [Record("INSERT", {"id": "a"}, "7")]) == ["7"]


class _ImageStore:
    """Reads stream images: {"id": ...} is a submission, anything else cannot be read."""

    def from_stream_image(self, image: dict[str, Any]) -> Any:
        if "id" not in image:
            raise ValueError("not a submission image")
        return dataclasses.replace(contact(), id=image["id"])


def _sent_acknowledgement(stores: MemoryStores, address: str) -> tuple[str, str]:
    submission = contact(address)
    record = stores.deliveries.ensure(submission.form, submission.id, "acknowledgement", [address],
                                      submission.created_at)
    stores.deliveries.settle(record, SENT, submission.created_at, message_id="ses-1")
    return submission.form, submission.id


def _ses_event(event_type: str, address: str, form: str, submission_id: str, **body: Any) -> str:
    header = message_id_for(SENDER, f"{form}#{submission_id}.acknowledgement")
    return json.dumps({"eventType": event_type, "mail": {"messageId": "ses-1", "commonHeaders": {"messageId": header}},
                       **body})


def _bounce(address: str, form: str, submission_id: str, bounce_type: str = "Permanent") -> str:
    return _ses_event("Bounce", address, form, submission_id, bounce={
        "bounceType": bounce_type, "bounceSubType": "General", "bouncedRecipients": [{"emailAddress": address}]})


def test_a_permanent_bounce_marks_the_delivery_and_suppresses_the_address() -> None:
    stores = MemoryStores()
    services = _services(stores)
    form, submission_id = _sent_acknowledgement(stores, "gone@example.com")
    assert record_mail_events(services, [_bounce("gone@example.com", form, submission_id)]) == 1
    delivery = stores.deliveries.get(form, submission_id, "acknowledgement")
    assert delivery is not None and delivery.status == BOUNCED and "permanent bounce" in (delivery.last_error or "")
    assert stores.suppressions.is_suppressed("Gone+news@Example.com")  # the same mailbox, spelled otherwise
    # The next acknowledgement to that mailbox is skipped before anything is rendered or sent.
    mailer = services.delivery.mailer if services.delivery else None
    later = contact("gone@example.com")
    assert services.delivery is not None
    results = {d.kind: d for d in services.delivery.deliver(later)}
    assert results["acknowledgement"].status == SKIPPED
    assert "suppressed" in (results["acknowledgement"].last_error or "")
    assert isinstance(mailer, FakeMailer) and "gone@example.com" not in mailer.recipients


def test_a_complaint_marks_the_delivery_complained() -> None:
    stores = MemoryStores()
    services = _services(stores)
    form, submission_id = _sent_acknowledgement(stores, "angry@example.com")
    message = _ses_event("Complaint", "angry@example.com", form, submission_id, complaint={
        "complainedRecipients": [{"emailAddress": "angry@example.com"}], "complaintFeedbackType": "abuse"})
    assert record_mail_events(services, [message]) == 1
    delivery = stores.deliveries.get(form, submission_id, "acknowledgement")
    assert delivery is not None and delivery.status == COMPLAINED
    assert stores.suppressions.is_suppressed("angry@example.com")


def test_a_transient_bounce_or_an_unreadable_message_changes_nothing() -> None:
    stores = MemoryStores()
    services = _services(stores)
    form, submission_id = _sent_acknowledgement(stores, "full@example.com")
    messages = [_bounce("full@example.com", form, submission_id, "Transient"), "not json", "[]",
                json.dumps({"eventType": "Delivery", "mail": {}})]
    assert record_mail_events(services, messages) == 0
    delivery = stores.deliveries.get(form, submission_id, "acknowledgement")
    assert delivery is not None and delivery.status == SENT
    assert not stores.suppressions.is_suppressed("full@example.com")


def test_a_bounce_for_mail_formloop_did_not_send_only_suppresses() -> None:
    event = parse_mail_event(json.dumps({"eventType": "Bounce", "mail": {"commonHeaders": {"messageId": "<x@y>"}},
                                         "bounce": {"bounceType": "Permanent",
                                                    "bouncedRecipients": [{"emailAddress": "a@b.example"}]}}))
    assert event is not None and event.form is None and event.addresses == ("a@b.example",)
