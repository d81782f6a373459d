"""Sending email: SES v2, SMTP or a local outbox folder, behind one interface.

The only module that imports boto3's SES client. Every backend sorts failures into
transient (worth another attempt: throttling, timeouts, 4xx SMTP replies) and permanent
(rejected, suppressed or unverified addresses), so the delivery service can retry or give up.
"""
from __future__ import annotations

import re
import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from chalicelib.core.clock import utcnow
from chalicelib.core.config import MailSettings
from chalicelib.core.errors import NotFoundError


class MailError(Exception):
    """A message could not be handed to the mail provider."""


class TransientMailError(MailError):
    """The provider may accept the same message later (throttling, timeout, outage)."""


class PermanentMailError(MailError):
    """The provider will never accept this message (rejected, suppressed, unverified sender)."""


class Mailer(Protocol):
    """Hands one message to a provider; returns the provider's message id."""

    name: str

    def send(self, message: EmailMessage, recipients: list[str]) -> str: ...


def _sender_address(message: EmailMessage) -> str:
    sender = message["From"]
    return str(sender.addresses[0].addr_spec) if hasattr(sender, "addresses") else str(sender)


@dataclass(frozen=True)
class OutboxEntry:
    """One email written to the local outbox."""

    name: str
    subject: str
    to: str
    written_at: datetime


_SAFE_NAME = re.compile(r"^[0-9A-Za-z-]{1,200}$")  # as the outbox names its files, within a file name's length


class OutboxMailer:
    """Writes each message as `<name>.eml` plus its HTML part as `<name>.html` (the local default)."""

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Write the message to the outbox folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}"
        html = message.get_body(("html",))
        if html is not None:
            (self.folder / f"{name}.html").write_text(str(html.get_content()), encoding="utf-8")
        # Written last, so a listed .eml always has its .html beside it.
        (self.folder / f"{name}.eml").write_bytes(bytes(message))
        return name

    def entries(self, limit: int = 100) -> list[OutboxEntry]:
        """The newest emails first (names start with the time they were written)."""
        if not self.folder.is_dir():
            return []
        return [_outbox_entry(path) for path in sorted(self.folder.glob("*.eml"), reverse=True)[:limit]]

    def count(self) -> int:
        """How many emails the outbox holds."""
        return sum(1 for _ in self.folder.glob("*.eml")) if self.folder.is_dir() else 0

    def entry(self, name: str) -> OutboxEntry:
        """One email's To, Subject and time (names are checked: no path tricks)."""
        return _outbox_entry(self._path(name, ".eml"))

    def read(self, name: str) -> str:
        """The HTML part of one outbox email (names are checked: no path tricks)."""
        return self._path(name, ".html").read_text(encoding="utf-8")

    def _path(self, name: str, suffix: str) -> Path:
        path = self.folder / f"{name}{suffix}"
        if not _SAFE_NAME.match(name) or not path.is_file():
            raise NotFoundError("There is no such email in the outbox.")
        return path


def _outbox_entry(path: Path) -> OutboxEntry:
    from email import message_from_bytes, policy
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    return OutboxEntry(name=path.stem, subject=str(parsed.get("Subject", "")), to=str(parsed.get("To", "")),
                       written_at=datetime.fromtimestamp(path.stat().st_mtime, UTC))


class SmtpMailer:
    """Any SMTP provider: a new connection per message (Lambda keeps no sockets between events)."""

    name = "smtp"

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Send over SMTP; 4xx replies and network errors are transient, 5xx permanent."""
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password or "")
                refused = smtp.send_message(message, from_addr=_sender_address(message), to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise self._classify(min(codes), f"recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            raise self._classify(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientMailError(f"SMTP server hung up: {exc}") from exc
        except smtplib.SMTPException as exc:  # e.g. STARTTLS or AUTH not offered: configuration, not luck
            raise PermanentMailError(f"SMTP error: {exc}") from exc
        except OSError as exc:  # refused connection, DNS, timeout (SMTPException is an OSError: caught above)
            raise TransientMailError(f"SMTP server unreachable: {exc}") from exc
        if refused:
            # Some recipients accepted: sending again would duplicate theirs, so report and stop.
            raise PermanentMailError(f"some recipients refused: {refused}")
        return str(message["Message-ID"] or "")

    @staticmethod
    def _classify(code: int, detail: str) -> MailError:
        if 400 <= code < 500:
            return TransientMailError(f"SMTP {detail}")
        return PermanentMailError(f"SMTP {detail}")


# SES v2 error codes worth another attempt; any other client error is permanent.
SES_TRANSIENT = frozenset({
    "TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException",
    "InternalFailure", "ServiceUnavailable", "RequestTimeout",
})


class SesMailer:
    """Amazon SES v2 `SendEmail` with raw content, tagged with the configuration set from settings."""

    name = "ses"

    def __init__(self, settings: MailSettings, region: str, client: Any = None) -> None:
        self.settings = settings
        self.region = region
        self._client = client

    @property
    def client(self) -> Any:
        """The SES client, built on first send: services are built on every cold start, mail is sent rarely."""
        if self._client is None:
            import boto3
            from botocore.config import Config
            # One attempt per call: the delivery service counts and spaces the retries itself.
            self._client = boto3.client("sesv2", region_name=self.region,
                                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                                      connect_timeout=5, read_timeout=10))
        return self._client

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Send through SES; throttling and 5xx are transient, rejections permanent."""
        from botocore.exceptions import BotoCoreError, ClientError
        request: dict[str, Any] = {
            "FromEmailAddress": _sender_address(message),
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": bytes(message)}},
        }
        if self.settings.ses_configuration_set:
            request["ConfigurationSetName"] = self.settings.ses_configuration_set
        try:
            response = self.client.send_email(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            detail = f"SES {code}: {error.get('Message', '')}"
            if code in SES_TRANSIENT or status >= 500:
                raise TransientMailError(detail) from exc
            raise PermanentMailError(detail) from exc
        except BotoCoreError as exc:  # connection errors, timeouts
            raise TransientMailError(f"SES unreachable: {exc}") from exc
        return str(response.get("MessageId", ""))


def build_mailer(settings: MailSettings, region: str) -> Mailer:
    """The backend the settings name."""
    if settings.backend == "ses":
        return SesMailer(settings, region)
    if settings.backend == "smtp":
        return SmtpMailer(settings)
    return OutboxMailer(settings.outbox_dir)
