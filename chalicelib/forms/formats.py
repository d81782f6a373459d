"""The `format` checks Formloop applies to answers, shared by both of its JSON Schema validators.

Answers are checked twice over: a compiled yes/no check (fastjsonschema) on every post, and
jsonschema for the list of errors when that says no. Both get these same functions, so a
`format` they support can never be judged differently by the two.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# An ordinary address in plain ASCII: an RFC 5322 dot-atom before the @, dotted host-name labels after it (each
# a letter or digit at both ends), at least two of them. email-validator accepts every such address
# (no DNS, no SMTPUTF8) once the checks in _plainly_valid hold; tests/unit/test_formats.py compares the two.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+", re.ASCII)
# Names email-validator refuses as special-use (RFC 6761 and later); an address under one is left to it.
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
MAX_LABEL = 63
# Addresses the mail library would read as RFC 2047 encoded words (`=?utf-8?q?x?=@example.com`) are valid
# RFC 5322 but cannot be written into a header as they are; control characters never can.
_UNMAILABLE = re.compile(r"=\?|[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_LOCAL_PART, MAX_ADDRESS = 64, 254


def is_email(value: object) -> bool:
    """An address Formloop can mail: email-validator's syntax check (no DNS), ASCII before the @, no `=?`."""
    if not isinstance(value, str):
        return True
    if len(value) > MAX_ADDRESS or "@" not in value or _UNMAILABLE.search(value):
        return False
    return _valid_address(value)


def _plainly_valid(value: str) -> bool:
    """True for an ordinary ASCII address email-validator is sure to accept; False leaves the verdict to it.

    Saves a cold start email-validator's import, which compiles Unicode regular expressions (35 ms and more).
    """
    if len(value) > MAX_ADDRESS or not _PLAIN_ADDRESS.fullmatch(value):
        return False
    local, _, domain = value.partition("@")
    labels = domain.lower().split(".")
    # Punycode (`xn--`) and other `..--` labels, and special-use names, take email-validator's own checks.
    return (len(local) <= MAX_LOCAL_PART and domain[-1].isalpha() and labels[-1] not in _SPECIAL_USE
            and all(len(label) <= MAX_LABEL and label[2:4] != "--" for label in labels))


@lru_cache(maxsize=1024)  # both validators and the _replyto check ask about the same address in one post
def _valid_address(value: str) -> bool:
    return _plainly_valid(value) or _library_accepts(value)


def _library_accepts(value: str) -> bool:
    # Imported on first use: email_validator's import compiles its Unicode tables (about 70 ms), which a
    # cold start that never sees an address should not pay.
    from email_validator import EmailNotValidError, validate_email

    try:
        # No SMTPUTF8: SES and most providers refuse non-ASCII before the @ (domains are sent in IDNA form).
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return len(checked.local_part) <= MAX_LOCAL_PART


def is_date(value: object) -> bool:
    """A calendar date written YYYY-MM-DD (RFC 3339 full-date), as jsonschema checks it."""
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# Every format an answer may be checked against on the fast path; a form using another one is
# checked by jsonschema alone (with its own format checks).
FORMATS: dict[str, Callable[[object], bool]] = {"email": is_email, "date": is_date}
