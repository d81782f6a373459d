"""No answer reaches an email header as anything but one line of plain text: RFC 2047 encoded words in input
(q and b, any case, split in two) stay literal text, read back from the bytes the mailer is handed."""
from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.forms.formats import is_email
from chalicelib.mail.content import Email, EmailTemplates, render_acknowledgement, render_notification, to_message
from chalicelib.mail.headers import CONTROL, mailbox, plain_text
from chalicelib.mail.transport import OutboxMailer

ROOT = Path(__file__).resolve().parents[2]
FORMS = FormRegistry(ROOT / "forms")
TEMPLATES = EmailTemplates(ROOT / "forms" / "templates")
SENDER = "Acme <hello@acme.example>"
INJECTED = "Hello\r\nBcc: x@evil.example\r\nReply-To: x@evil.example\r\n\r\nfake body"


def _q(text: str) -> str:
    return text.replace("\r", "=0D").replace("\n", "=0A").replace(" ", "_").replace("?", "=3F")


def _b(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Each decodes to a line break followed by headers of the attacker's choosing.
ENCODED_WORDS = {
    "q": f"=?utf-8?q?{_q(INJECTED)}?=",
    "Q upper case": f"=?UTF-8?Q?{_q(INJECTED)}?=",
    "b": f"=?utf-8?b?{_b(INJECTED)}?=",
    "B upper case": f"=?UTF-8?B?{_b(INJECTED)}?=",
    "split in two words": f"=?utf-8?q?{_q(INJECTED[:7])}?= =?utf-8?q?{_q(INJECTED[7:])}?=",
    "inside other text": f"Re: =?iso-8859-1?q?{_q(INJECTED)}?= please",
    "line break inside the word": "=?utf-8?q?Hello=0D=0ABcc:_x@evil.example?=\r\nBcc: y@evil.example",
}
HOSTILE = pytest.mark.parametrize("hostile", list(ENCODED_WORDS.values()), ids=list(ENCODED_WORDS))


def read_back(message: EmailMessage) -> Any:
    """The message as a mail client reads the bytes it is handed."""
    return message_from_bytes(bytes(message), policy=policy.default)


def assert_clean(message: EmailMessage, names: list[str]) -> Any:
    """The header set is exactly `names` (and MIME's), each value one line without control characters."""
    parsed = read_back(message)
    assert sorted(parsed.keys()) == sorted([*names, "MIME-Version", "Content-Type"])
    for value in parsed.values():
        assert not CONTROL.search(str(value)), value
    assert parsed["Bcc"] is None and "evil.example" not in str(parsed["Reply-To"] or "")
    header_block = bytes(message).split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in bytes(message) \
        else bytes(message).split(b"\n\n", 1)[0]
    assert b"\nBcc" not in header_block and b"\nbcc" not in header_block.lower()
    return parsed


def contact(**changes: Any) -> Submission:
    fields: dict[str, Any] = dict(
        form="contact", id=str(ULID()), created_at=datetime.now(UTC), status="received",
        answers={"name": "Ann Lee", "email": "ann@example.com", "topic": "question", "message": "Hi",
                 "consent": True},
        feedback_kind="question", language="en", respondent_email="ann@example.com")
    fields.update(changes)
    return Submission(**fields)


NOTIFICATION_HEADERS = ["From", "To", "Reply-To", "Subject", "Date", "Message-ID"]


@HOSTILE
def test_an_encoded_subject_stays_literal_text_in_the_team_notification(hostile: str) -> None:
    email = render_notification(TEMPLATES, FORMS.require("contact"), contact(subject=hostile),
                                "https://admin.example.com")
    parsed = assert_clean(to_message(email, SENDER, "<1@acme.example>"), NOTIFICATION_HEADERS)
    # What the respondent typed, as typed (line breaks as spaces): never decoded.
    assert str(parsed["Subject"]) == f"[question] {plain_text(hostile)}"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["team@example.com"]
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == ["ann@example.com"]


@HOSTILE
def test_an_encoded_name_or_message_reaches_no_header(hostile: str) -> None:
    submission = contact(answers={"name": hostile, "email": "ann@example.com", "topic": "question",
                                  "message": hostile, "consent": True})
    email = render_notification(TEMPLATES, FORMS.require("contact"), submission, "https://admin.example.com")
    parsed = assert_clean(to_message(email, SENDER, "<1@acme.example>"), NOTIFICATION_HEADERS)
    assert str(parsed["Subject"]) == "[question] Contact us: new submission"
    ack = render_acknowledgement(TEMPLATES, FORMS.require("contact"), submission, {})
    assert_clean(to_message(ack, SENDER, "<2@acme.example>"),
                 ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted"])


@HOSTILE
def test_a_sender_display_name_that_could_be_decoded_is_refused(hostile: str) -> None:
    email = Email(to=["ann@example.com"], subject="Hi", html="<p>Hi</p>", text="Hi")
    with pytest.raises(ValueError, match="FORMLOOP_MAIL_FROM"):
        to_message(email, f'"{plain_text(hostile)}" <hello@acme.example>', "<1@acme.example>")


def test_a_long_message_id_folded_after_its_name_is_sent() -> None:
    message_id = f"<customer-survey.{'0' * 26}.acknowledgement@a-rather-long-sending-domain.example>"
    parsed = assert_clean(to_message(Email(to=["ann@example.com"], subject="Hi", html="", text=""), SENDER,
                                     message_id), ["From", "To", "Subject", "Date", "Message-ID"])
    assert str(parsed["Message-ID"]).strip() == message_id


@pytest.mark.parametrize("name", ["Очень длинное имя отправителя для проверки переноса строк в заголовке письма",
                                  "Ünïcödé-" * 8])
def test_a_long_non_ascii_sender_name_is_sent(name: str) -> None:
    email = Email(to=["ann@example.com"], subject="Тема " * 30, html="", text="")
    message = to_message(email, f'"{name}" <hello@acme.example>', "<1@acme.example>")
    parsed = assert_clean(message, ["From", "To", "Subject", "Date", "Message-ID"])
    assert parsed["From"].addresses[0].addr_spec == "hello@acme.example"
    assert str(parsed["Subject"]) == plain_text("Тема " * 30)


def test_a_plain_sender_display_name_is_written_as_configured() -> None:
    email = Email(to=["ann@example.com"], subject="Hi", html="<p>Hi</p>", text="Hi")
    parsed = assert_clean(to_message(email, '"Acme Café, Support" <hello@acme.example>', "<1@acme.example>"),
                          ["From", "To", "Subject", "Date", "Message-ID"])
    assert (parsed["From"].addresses[0].display_name, parsed["From"].addresses[0].addr_spec) == (
        "Acme Café, Support", "hello@acme.example")


@HOSTILE
@pytest.mark.parametrize("name", ["Auto-Submitted", "In-Reply-To", "References"])  # every extra header written
def test_an_encoded_custom_header_stays_literal(hostile: str, name: str) -> None:
    email = Email(to=["ann@example.com"], subject="Hi", html="<p>Hi</p>", text="Hi", headers={name: hostile})
    parsed = assert_clean(to_message(email, SENDER, "<1@acme.example>"),
                          ["From", "To", "Subject", "Date", "Message-ID", name])
    assert str(parsed[name]) == plain_text(hostile)


ENCODED_ADDRESSES = [
    "=?utf-8?q?x?=@example.com",
    "=?UTF-8?B?eA==?=@example.com",
    "=?utf-8?q?x=0D=0ABcc:_y@evil.example?=@example.com",
    "ann=?utf-8?q?x?=@example.com",
    "ann@=?utf-8?q?example?=.com",
    "ann@example.com\r\nBcc: x@evil.example",
    "ann@example.com, x@evil.example",
    "Ann <ann@example.com>",
]


@pytest.mark.parametrize("address", ENCODED_ADDRESSES)
def test_an_address_that_is_not_one_plain_mailbox_is_refused_as_a_recipient_and_reply_to(address: str) -> None:
    assert not is_email(address)
    with pytest.raises(ValueError):
        mailbox(address)
    with pytest.raises(ValueError):
        to_message(Email(to=[address], subject="Hi", html="", text=""), SENDER, "<1@acme.example>")
    with pytest.raises(ValueError):
        to_message(Email(to=["team@example.com"], subject="Hi", html="", text="", reply_to=address), SENDER,
                   "<1@acme.example>")


def test_an_internationalised_domain_is_written_in_its_ascii_form() -> None:
    message = to_message(Email(to=["ann@bücher.example"], subject="Grüße", html="", text="",
                               reply_to="ann@bücher.example"), SENDER, "<1@acme.example>")
    parsed = assert_clean(message, ["From", "To", "Reply-To", "Subject", "Date", "Message-ID"])
    assert str(parsed["To"]) == str(parsed["Reply-To"]) == "ann@xn--bcher-kva.example"
    assert str(parsed["Subject"]) == "Grüße"


@HOSTILE
def test_the_outbox_file_holds_exactly_the_headers_meant(hostile: str, tmp_path: Path) -> None:
    outbox = OutboxMailer(tmp_path)
    email = render_notification(TEMPLATES, FORMS.require("contact"), contact(subject=hostile),
                                "https://admin.example.com")
    outbox.send(to_message(email, SENDER, "<1@acme.example>"), email.to)
    [written] = tmp_path.glob("*.eml")
    parsed = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert sorted(parsed.keys()) == sorted([*NOTIFICATION_HEADERS, "MIME-Version", "Content-Type"])
    assert str(parsed["Subject"]) == f"[question] {plain_text(hostile)}"
    assert [entry.subject for entry in outbox.entries()] == [f"[question] {plain_text(hostile)}"]
