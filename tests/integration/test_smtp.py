"""The SMTP backend against a real SMTP server (aiosmtpd) on 127.0.0.1, and delivery records in DynamoDB Local."""
from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from chalicelib.core.config import MailSettings
from chalicelib.mail.content import EmailTemplates
from chalicelib.mail.delivery import DeliveryService
from chalicelib.mail.transport import PermanentMailError, SmtpMailer, TransientMailError

from .test_delivery import submit

ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    """An aiosmtpd handler: keeps what it accepts; answers scripted errors first."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []
        self.replies: list[str] = []  # e.g. "451 4.7.1 Try again later", used one per message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, MailSettings]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, MailSettings(backend="smtp", sender="Acme <hello@acme.example>", smtp_host="127.0.0.1",
                                  smtp_port=port, smtp_timeout_seconds=5)
    finally:
        controller.stop()


def delivery_over(services, mail: MailSettings) -> DeliveryService:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(services.settings, mail=mail)
    return DeliveryService(settings, services.forms, services.delivery.store, SmtpMailer(mail),
                           EmailTemplates(ROOT / "forms" / "templates"), sleep=lambda seconds: None)


def test_smtp_delivers_text_and_html_to_the_planned_recipients(services, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inbox, mail = smtp
    contact = services.forms.require("contact")  # a form that opts in to repeating the message in its acknowledgement
    monkeypatch.setitem(contact.settings, "acknowledgement", {**contact.settings["acknowledgement"], "echo": True})
    submission = submit(services, topic="complaint", _replyto="ann.work@example.com")
    results = delivery_over(services, mail).deliver(submission)
    assert [r.status for r in results] == ["sent", "sent"]
    by_recipient = {tuple(rcpt): message for rcpt, message in inbox.messages}
    ack = by_recipient[("ann@example.com",)]
    team = by_recipient[("support@example.com",)]
    assert ack["Subject"] == "We received your message: Contact us"
    assert "Parcel arrived broken" in ack.get_body(("plain",)).get_content()
    assert "Parcel arrived broken" in ack.get_body(("html",)).get_content()
    assert team["Reply-To"] == "ann.work@example.com" and team["Subject"].startswith("[complaint] ")
    assert "Bcc" not in team and len(inbox.messages) == 2


def test_smtp_4xx_is_retried_then_sent_once(services, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, mail = smtp
    inbox.replies = ["451 4.7.1 Greylisted, try again later"] * 3
    submission = submit(services, topic="question")
    ack, team = delivery_over(services, mail).deliver(submission)
    assert (ack.status, ack.attempts, team.status, team.attempts) == ("sent", 4, "sent", 1)
    assert sorted(rcpt for rcpt, _ in inbox.messages) == [["ann@example.com"], ["team@example.com"]]


def test_smtp_5xx_is_permanent(services, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, mail = smtp
    inbox.replies = ["554 5.7.1 Message rejected"]
    submission = submit(services, topic="question")
    ack, team = delivery_over(services, mail).deliver(submission)
    assert (ack.status, ack.attempts) == ("failed", 1) and "554" in (ack.last_error or "")
    assert [rcpt for rcpt, _ in inbox.messages] == [["team@example.com"]]
    assert services.store.get("contact", submission.id) is not None


def test_unreachable_server_is_transient(services) -> None:  # type: ignore[no-untyped-def]
    mailer = SmtpMailer(MailSettings(backend="smtp", sender="a@example.com", smtp_port=free_port(),
                                     smtp_timeout_seconds=2))
    from email.message import EmailMessage
    message = EmailMessage()
    message["From"] = "a@example.com"
    message.set_content("x")
    with pytest.raises(TransientMailError):
        mailer.send(message, ["b@example.com"])
    assert not issubclass(TransientMailError, PermanentMailError)
