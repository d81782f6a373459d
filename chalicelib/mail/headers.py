"""The header lines of Formloop's emails: each one line of plain text, and exactly the set Formloop meant.

Python's email library decodes RFC 2047 encoded words (`=?utf-8?q?...?=`) in any text it is given for a
header and, depending on the interpreter's version, writes their decoded line breaks back out (CVE-2024-6923):
a respondent's `_subject` could add `Bcc:` lines. So text that merely looks like an encoded word is written
encoded as a whole (a reader sees it literally, never decoded), control characters become spaces, addresses
are written in their ASCII form, and every message is read back from its bytes before it is sent: a header
set or value other than the one meant is a ValueError, whatever the library did.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy
from email.utils import parseaddr

# C0 and C1 controls, DEL and the Unicode line and paragraph separators: none may reach a header.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ENCODED_WORD_START = "=?"
# A header's name as RFC 5322 allows it (printable ASCII but the colon).
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# Added by the MIME library itself when the body is set.
MIME_HEADERS = ("MIME-Version", "Content-Type")


def plain_text(value: str) -> str:
    """One line of text: every control character and run of whitespace becomes one space."""
    return " ".join(CONTROL.sub(" ", value).split())


class LiteralHeader:
    """A text header Formloop folds itself: its text written as whole encoded words, never read for them."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def fold(self, *, policy: Policy) -> str:
        """The header line as the message's bytes hold it (the email library calls this)."""
        encoded = Header(self.text, "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"

    def __str__(self) -> str:
        return self.text


def text_header(name: str, value: str) -> str | LiteralHeader:
    """A text header's value: plain text, encoded whole by Formloop if it could be read as an encoded word."""
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a header name")
    text = plain_text(value)
    return LiteralHeader(name, text) if ENCODED_WORD_START in text else text


def mailbox(address: str) -> str:
    """An address as a header and the mail provider take it (ASCII domain); ValueError if it is not one mailbox."""
    address = address.strip()
    if plain_text(address) != address or ENCODED_WORD_START in address:
        raise ValueError(f"{address!r} is not one plain email address")
    from email_validator import EmailNotValidError, validate_email

    try:
        # Syntax only (no DNS), and any domain: addresses were judged when they were accepted.
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False,
                                 globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{address!r} cannot be mailed: {exc}") from None
    return str(checked.ascii_email)


def sender_parts(sender: str) -> tuple[str, str]:
    """A configured sender (`Name <address>` or an address) as its display name and address.

    A display name that could be read as an encoded word is refused rather than written encoded: readers
    (Python's among them) put spaces between the encoded words of a display name, so the configured text
    could not be shown exactly. The sender is configuration, so refusing it costs no respondent anything.
    """
    name, address = parseaddr(sender)
    if not address or CONTROL.search(sender):
        raise ValueError(f"the sender {sender!r} (FORMLOOP_MAIL_FROM) is not one address like 'Acme <hi@acme.example>'")
    if ENCODED_WORD_START in sender:
        raise ValueError(f"the sender {sender!r} (FORMLOOP_MAIL_FROM) holds '=?': write its name as plain text")
    return plain_text(name), address


def check_headers(message: EmailMessage, sender: tuple[str, str], texts: Mapping[str, str],
                  addresses: Mapping[str, Sequence[str]]) -> None:
    """Read the message back from its bytes: ValueError unless its headers are exactly the ones meant.

    `sender` is From's display name and address, `texts` the text headers, `addresses` the address headers;
    the MIME library adds only MIME-Version and Content-Type.
    """
    parsed = BytesParser(policy=email_policy.default).parsebytes(bytes(message), headersonly=True)
    names = sorted(name.lower() for name in parsed.keys())
    expected = sorted(name.lower() for name in ["From", *texts, *addresses, *MIME_HEADERS])
    if names != expected:
        raise ValueError(f"the message's headers are {names}, not {expected}")
    for name, value in parsed.items():
        if CONTROL.search(str(value)):
            raise ValueError(f"the {name} header holds a control character")
    found = parsed["From"].addresses
    # Python's reader puts a space between the encoded words of a long non-ASCII display name (mail clients
    # do not), so the name is compared without spaces; added headers or line breaks were ruled out above.
    if len(found) != 1 or ("".join(found[0].display_name.split()), found[0].addr_spec) != (
            "".join(sender[0].split()), sender[1]):
        raise ValueError(f"the From header reads {str(parsed['From'])!r}, not {sender!r}")
    for name, text in texts.items():
        # A long value may be folded right after the name (a long Message-ID): the leading space is folding.
        if str(parsed[name]).strip() != plain_text(text):
            raise ValueError(f"the {name} header reads {str(parsed[name])!r}, not {plain_text(text)!r}")
    for name, meant in addresses.items():
        if [address.addr_spec for address in parsed[name].addresses] != list(meant):
            raise ValueError(f"the {name} header reads {str(parsed[name])!r}, not {list(meant)}")
