"""The `format` checks: addresses at their length limits, calendar dates, and values the formats do not judge."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.forms.answers import validate
from chalicelib.forms.definitions import compile_definition, form_validator
from chalicelib.forms.fastcheck import compile_check
from chalicelib.forms.formats import (
    _PLAIN_ADDRESS,
    FORMATS,
    MAX_ADDRESS,
    _library_accepts,
    _plainly_valid,
    is_date,
    is_email,
)

LOCAL_64 = "a" * 64
# 64 + "@" + 189 = 254 characters, with no domain label over 63.
DOMAIN_189 = "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
FORMATTED = compile_definition("formatted", {
    "type": "object", "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "format": "email"},
        "day": {"type": "string", "format": "date"},
        # A question that takes a number or an address: the format judges only the text.
        "contact": {"type": ["integer", "string"], "format": "email"},
        "when": {"type": ["integer", "string"], "format": "date"},
    },
    "x-form": {"kind": "contact"},
}, "forms/formatted.json")


def messages(answers: dict[str, Any]) -> dict[str, str]:
    return {error.field: error.message for error in validate(FORMATTED, answers)}


def test_address_of_exactly_254_characters_with_a_64_character_local_part_is_accepted() -> None:
    address = f"{LOCAL_64}@{DOMAIN_189}"
    assert len(address) == 254
    assert is_email(address)
    assert messages({"email": address}) == {}


def test_address_of_255_characters_is_refused() -> None:
    address = f"{LOCAL_64}@{DOMAIN_189}x"
    assert len(address) == 255
    assert not is_email(address)
    assert messages({"email": address}) == {"email": "must be an email address, like name@example.com."}


def test_address_of_253_characters_is_accepted() -> None:
    address = f"{'a' * 63}@{DOMAIN_189}"
    assert len(address) == 253
    assert is_email(address)


@pytest.mark.parametrize("address, accepted", [
    (f"{'a' * 64}@example.com", True),
    (f"{'a' * 65}@example.com", False),
    (f"ann@{'b' * 63}.com", True),
    (f"ann@{'b' * 64}.com", False),
    ("ann@example.com", True),
    ("ann.lee+forms@mail.example.co.uk", True),
    ("ann@example", False),
    ("ann@@example.com", False),
    ("ann lee@example.com", False),
    ("ann@-example.com", False),
    ("ann@example-.com", False),
    ("ann\n@example.com", False),
    ("<ann@example.com>", False),
    ("", False),
])
def test_address_shapes(address: str, accepted: bool) -> None:
    assert is_email(address) is accepted
    assert ("email" not in messages({"email": address})) is accepted


@pytest.mark.parametrize("day, accepted", [
    ("2026-11-20", True),
    ("2024-02-29", True),
    ("2026-02-29", False),
    ("2026-02-30", False),
    ("2026-13-01", False),
    ("2026-00-10", False),
    ("20261120", False),
    ("2026-11-2", False),
    ("2026-11-20T10:00", False),
    ("２０２６-11-20", False),
    (" 2026-11-20", False),
    ("", False),
])
def test_dates_are_calendar_days_written_yyyy_mm_dd(day: str, accepted: bool) -> None:
    assert is_date(day) is accepted
    assert messages({"day": day}) == ({} if accepted else {"day": "must be a valid date."})


@pytest.mark.parametrize("check", [is_email, is_date])
@pytest.mark.parametrize("value", [5, 0, None, True, ["a@example.com"], {"a": 1}])
def test_formats_judge_only_text(check: Any, value: object) -> None:
    assert check(value) is True


def test_a_number_answer_to_a_number_or_text_question_passes_its_format() -> None:
    assert messages({"contact": 5, "when": 20261120}) == {}
    assert messages({"contact": "nobody", "when": "soon"}) == {
        "contact": "must be an email address, like name@example.com.", "when": "must be a valid date."}


def test_both_validators_share_the_same_formats() -> None:
    assert FORMATS == {"email": is_email, "date": is_date}


# Valid RFC 5322 or close to it, but no mail library or provider would take them as they are.
UNMAILABLE = [
    "=?utf-8?q?x?=@example.com",
    "=?UTF-8?B?eA==?=@example.com",
    "ann=?utf-8?q?x?=@example.com",
    "=?utf-8?q?x=0D=0ABcc:_y@evil.example?=@example.com",
    "ann@=?utf-8?q?example?=.com",
    "ann@example.com\r\nBcc: x@evil.example",
    "ann@example.com\u2028",
    "ann@example.com\x85",
    "ann@example.com, x@evil.example",
    "Ann <ann@example.com>",
    '"ann lee"@example.com',
    "ann@[192.0.2.1]",
    "ann..lee@example.com",
    ".ann@example.com",
    "ann.@example.com",
    "ann@example.com.",
    "ann@localhost",
    "ann@example.invalid",
    "ánn@example.com",
    "ann@exa_mple.com",
    "ann@123.123.123.123",
]
MAILABLE = ["ann@example.com", "ann.lee+forms@mail.example.co.uk", "o'brien@example.ie", "ann@bücher.example",
            "ANN@EXAMPLE.COM", "a_b-c=d@example.org"]


@pytest.mark.parametrize("address", UNMAILABLE)
def test_addresses_that_cannot_be_mailed_are_refused_by_both_validators(address: str) -> None:
    schema = {"type": "string", "format": "email"}
    check = compile_check(schema)
    assert check is not None
    assert not is_email(address)
    assert check(address) is False and not form_validator(schema).is_valid(address)
    assert messages({"email": address}) == {"email": "must be an email address, like name@example.com."}


@pytest.mark.parametrize("address", MAILABLE)
def test_ordinary_addresses_pass_both_validators(address: str) -> None:
    schema = {"type": "string", "format": "email"}
    check = compile_check(schema)
    assert check is not None and check(address) is True and form_validator(schema).is_valid(address)
    assert is_email(address) and messages({"email": address}) == {}


def test_the_address_library_is_not_imported_before_an_address_is_checked() -> None:
    # A cold start that never sees an address does not pay for email_validator's tables. (The address is
    # one the plain-ASCII path leaves to the library, which a plain address no longer imports: see below.)
    code = ("import sys; import chalicelib.forms.formats as f; assert 'email_validator' not in sys.modules; "
            "f.is_email('ann@bücher.example'); assert 'email_validator' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_an_ordinary_address_is_checked_without_the_address_library() -> None:
    # email_validator's import compiles Unicode regular expressions: 35 ms and more of a cold start's first post.
    code = ("import sys; import chalicelib.forms.formats as f; "
            "assert f.is_email('ann.lee+forms@mail.example.co.uk') and f.is_email('ANN@EXAMPLE.COM'); "
            "assert 'email_validator' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


# Addresses built from the characters that decide the plain path's verdicts: every ASCII class it reads,
# dots and hyphens where labels may break, `xn` and `--` for Punycode, the special-use names, long runs;
# near-ordinary ones (atoms and labels of likely characters), and anything printable.
_PIECES = st.sampled_from(["a", "Z", "0", "9", ".", "-", "_", "+", "'", "!", "`", "~", "xn", "--", "@", " ", '"',
                           "(", "[", "]", "\\", ";", ",", ":", "<", ">", "/", "=", "?", "%", "a" * 30, "0" * 30])
_ATOMS = st.text(alphabet="aZ09_+'!`~-/|{}#$%&*^", min_size=0, max_size=6)
_LOCALS = st.one_of(st.lists(_ATOMS, min_size=1, max_size=4).map(".".join), st.lists(_PIECES, max_size=8).map("".join),
                    st.sampled_from(["a" * 64, "a" * 65]))
_LABELS = st.one_of(st.text(alphabet="aZ09-", min_size=0, max_size=6), st.sampled_from(["xn--p1ai", "ab--cd", "b" * 63,
                                                                                          "b" * 64]), _PIECES)
_TOP_LEVELS = st.sampled_from(["com", "co", "uk", "Io", "c0m", "1com", "com1", "x-y", "-com", "com-", "xn--p1ai",
                               "ab--cd", "test", "local", "LocalHost", "invalid", "onion", "arpa", "example", "",
                               "a" * 63, "a" * 64])
_DOMAINS = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(_LABELS, max_size=4), _TOP_LEVELS)
_ADDRESSES = st.one_of(
    # Anything the plain path's pattern matches, which its other checks then accept or leave to the library.
    st.from_regex(_PLAIN_ADDRESS, fullmatch=True).filter(lambda address: len(address) <= MAX_ADDRESS),
    st.builds(lambda local, domain: f"{local}@{domain}", _LOCALS, _DOMAINS),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40),
)


@settings(max_examples=1500, deadline=None)
@given(_ADDRESSES)
@example("ann@example.com")
@example(f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 57}.com")
@example("a@b.c0m")
@example(f"{'a' * 65}@example.com")
@example("a@xn--bcher-kva.example")
@example("a@ab--cd.com")
@example("a@mail.localhost")
@example("a-@b.co")
@example("a@b-.co")
def test_the_plain_ascii_path_only_accepts_what_email_validator_accepts(address: str) -> None:
    # is_email asks the library only when the plain path does not accept: so the two agree on every address.
    if _plainly_valid(address):
        assert _library_accepts(address), address


@pytest.mark.parametrize("address", [a for a in MAILABLE if a.isascii()] + [
    "ann@example.com", "x@y.co", "first.last@sub-domain.example.org", "o'brien+tag@example.ie",
    f"{LOCAL_64}@{DOMAIN_189}", "a@1.example", "a@b2.c3d"])
def test_ordinary_ascii_addresses_take_the_plain_path(address: str) -> None:
    assert _plainly_valid(address) and _library_accepts(address)


def test_the_plain_path_does_not_backtrack_on_long_hostile_addresses() -> None:
    import time
    started = time.perf_counter()
    for address in ["a@" + "a-" * 126, "a@" + "a" * 251 + "!", "a" * 64 + "@" + "a." * 94 + "-"]:
        assert not is_email(address[:254]) or _library_accepts(address[:254])
    assert time.perf_counter() - started < 0.5
