"""Through the HTTP app and DynamoDB Local: an encoded `_subject` adds no header, unmailable addresses are refused
with a 422 and store nothing, and a flood of posts naming strangers' addresses is not a relay."""
from __future__ import annotations

import base64
import dataclasses
import json
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from chalicelib.mail.delivery import DeliveryService
from chalicelib.mail.transport import OutboxMailer

from .test_delivery import make_delivery, stored
from .test_submit import CONTACT, post_form, post_json

INJECTED = "Hello\r\nBcc: x@evil.example\r\nReply-To: x@evil.example\r\n\r\nfake body"
Q = INJECTED.replace("\r", "=0D").replace("\n", "=0A").replace(" ", "_")
B = base64.b64encode(INJECTED.encode()).decode()
SUBJECTS = {
    "q": f"=?utf-8?q?{Q}?=",
    "Q": f"=?UTF-8?Q?{Q}?=",
    "b": f"=?utf-8?b?{B}?=",
    "B": f"=?UTF-8?B?{B}?=",
    "split": f"=?utf-8?q?{Q[:9]}?= =?utf-8?q?{Q[9:]}?=",
}


def outbox_messages(outbox: OutboxMailer) -> list[tuple[bytes, Any]]:
    """Each .eml file's bytes and the message a mail client reads from them."""
    return [(path.read_bytes(), message_from_bytes(path.read_bytes(), policy=policy.default))
            for path in sorted(outbox.folder.glob("*.eml"))]


def deliver_all(services: Any, delivery: DeliveryService) -> None:
    for submission in sorted(stored(services), key=lambda submission: submission.id):  # in the order posted
        delivery.deliver(submission)


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxMailer:
    return OutboxMailer(tmp_path / "outbox")


@pytest.mark.parametrize("subject", list(SUBJECTS.values()), ids=list(SUBJECTS))
def test_an_encoded_subject_adds_no_header_to_the_team_notification(client, services, outbox, subject) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client, "contact", {**CONTACT, "_subject": subject}).status_code == 303
    deliver_all(services, make_delivery(services, outbox))
    messages = outbox_messages(outbox)
    assert len(messages) == 2
    for raw, parsed in messages:
        # Every line of the header block starts a header Formloop wrote, or continues one.
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        names = [line.split(b":", 1)[0].decode() for line in head if not line.startswith((b" ", b"\t"))]
        assert names == list(parsed.keys())
        assert parsed["Bcc"] is None and len(parsed.get_all("Reply-To") or []) <= 1
    [team] = [parsed for _, parsed in messages if parsed["To"] == "support@example.com"]
    assert sorted(team.keys()) == sorted(["From", "To", "Reply-To", "Subject", "Date", "Message-ID",
                                          "MIME-Version", "Content-Type"])
    assert str(team["Subject"]) == f"[complaint] {subject}"  # as typed: never decoded
    assert str(team["Reply-To"]) == "ann@example.com"


@pytest.mark.parametrize("field, address", [
    ("email", "=?utf-8?q?x?=@example.com"),
    ("email", "=?UTF-8?B?eA==?=@example.com"),
    ("_replyto", "=?utf-8?q?x=0D=0ABcc:_y@evil.example?=@example.com"),
    ("_replyto", "=?utf-8?b?eA==?=@example.com"),
])
def test_an_address_with_an_encoded_word_is_refused_and_nothing_is_stored(client, services, field, address) -> None:  # type: ignore[no-untyped-def]
    response = post_json(client, "contact", {**CONTACT, "consent": True, field: address})
    assert response.status_code == 422
    errors = {error["field"]: error["message"] for error in json.loads(response.body)["errors"]}
    assert list(errors) == [field] and "email address" in errors[field]
    assert stored(services) == []


def test_a_flood_naming_one_inbox_or_many_strangers_is_no_relay(client, services, outbox) -> None:  # type: ignore[no-untyped-def]
    delivery = make_delivery(services, outbox)
    delivery.settings = dataclasses.replace(delivery.settings, mail=dataclasses.replace(
        delivery.settings.mail, acknowledgements_per_form_per_hour=4))
    delivery.mail = delivery.settings.mail
    spam = "Buy cheap pills at https://evil.example/"
    victims = ["victim@gmail.com", "victim+1@gmail.com", "v.ictim@gmail.com", "victim@googlemail.com",
               "VICTIM+2@GoogleMail.com"]
    strangers = [f"stranger{n}@example.net" for n in range(8)]
    for address in victims + strangers:
        fields = {**CONTACT, "name": spam, "message": spam, "email": address}
        assert post_form(client, "contact", fields).status_code == 303
    deliver_all(services, delivery)
    messages = outbox_messages(outbox)
    acknowledgements = [parsed for _, parsed in messages if parsed["To"] != "support@example.com"]
    team = [parsed for _, parsed in messages if parsed["To"] == "support@example.com"]
    assert len(team) == len(victims) + len(strangers)  # the team hears of every post, with everything in it
    assert all(spam in message.get_body(("plain",)).get_content() for message in team)
    # One acknowledgement for the one Gmail inbox, and at most the hourly cap in all.
    assert len(acknowledgements) == 4
    assert sum(1 for message in acknowledgements if "victim" in str(message["To"]).lower().replace(".", "")) == 1
    for message in acknowledgements:  # and none carries the sender's words
        for part in (message.get_body(("plain",)), message.get_body(("html",))):
            assert "evil.example" not in part.get_content() and "pills" not in part.get_content()
