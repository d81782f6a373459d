"""The `format` checks Formloop applies to answers, shared by both of its JSON Schema validators.

Answers are checked twice over: a compiled yes/no check (fastjsonschema) on every post, and
jsonschema for the list of errors when that says no. Both get these same functions, so a
`format` they support can never be judged differently by the two.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f\"(),:;<>\[\\\]]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def is_email(value: object) -> bool:
    """A practical address check: one @, a dotted domain, no spaces or control characters."""
    if not isinstance(value, str):
        return True
    return len(value) <= 254 and bool(_EMAIL.fullmatch(value))


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
