"""The time trap on tokens no page of Formloop's ever served: a signature holding a lone surrogate (JSON can carry
one) is a forged stamp, counted as too fast, and never an error."""
from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.forms.definitions import compile_definition
from chalicelib.intake.spam import page_token, posted_too_fast

FORM = compile_definition("timed", {"type": "object", "properties": {"name": {"type": "string"}},
                                    "x-form": {"kind": "contact", "spam": {"minSeconds": 3}}}, "forms/timed.json")
SECRET = "page-secret-0123456789abcdef"
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def test_a_signature_with_a_lone_surrogate_is_a_forged_stamp() -> None:
    stamp = page_token(SECRET, NOW).split(".")[0]
    assert posted_too_fast(FORM, f"{stamp}.\ud800", SECRET, NOW.replace(hour=13)) is True
    assert posted_too_fast(FORM, f"{stamp}.\udfff" * 2, SECRET, NOW.replace(hour=13)) is True
    assert posted_too_fast(FORM, page_token(SECRET, NOW), SECRET, NOW.replace(hour=13)) is False
