"""core/: ids, the cursor codec, address normalisation, the clock."""
from __future__ import annotations

import base64
import json
from datetime import UTC

import pytest

from chalicelib.core.addresses import normalise_address
from chalicelib.core.clock import utcnow
from chalicelib.core.cursor import MAX_CURSOR_CHARS, decode_cursor, encode_cursor
from chalicelib.core.errors import MalformedRequestError
from chalicelib.core.ids import is_submission_id, new_id

FIELDS = {"after": is_submission_id, "status": lambda s: s in ("received", "spam")}
MESSAGE = "The cursor is not valid; pass the nextCursor of the previous page."


def test_new_ids_are_submission_ids_that_sort_by_time() -> None:
    first, second = new_id(), new_id()
    assert is_submission_id(first) and is_submission_id(second)
    assert first[:10] <= second[:10]  # the first 10 characters are the millisecond timestamp
    assert not is_submission_id(first.lower()) and not is_submission_id(first[:-1])
    assert not is_submission_id(first[:-1] + "U")  # not in Crockford's alphabet


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    position = {"after": new_id(), "status": "spam"}
    cursor = encode_cursor(position)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor, FIELDS, MESSAGE) == position


def _raw(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# A fixed id: test ids must be the same in every process that collects them (pytest-xdist's workers).
AN_ID = "01M8XJXV4F5GAZZ7604VJ047YM"


@pytest.mark.parametrize("cursor", [
    "", "garbage", "%%%", _raw(["a", "b"]), _raw({"after": AN_ID}),
    _raw({"after": AN_ID, "status": "spam", "more": "x"}), _raw({"after": "1", "status": "spam"}),
    _raw({"after": AN_ID, "status": "deleted"}), _raw({"after": 5, "status": "spam"}),
    _raw({"after": AN_ID, "status": ["spam"]}),
    base64.urlsafe_b64encode(b"[" * 100_000).decode()[:MAX_CURSOR_CHARS + 4],
    base64.urlsafe_b64encode(b"[" * 300).decode(),
])
def test_a_cursor_not_made_here_is_a_clear_400(cursor: str) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        decode_cursor(cursor, FIELDS, MESSAGE)
    assert caught.value.STATUS_CODE == 400 and caught.value.message == MESSAGE


def test_deeply_nested_json_in_a_cursor_is_refused_not_a_crash() -> None:
    nested = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("=")
    with pytest.raises(MalformedRequestError):
        decode_cursor(nested, FIELDS, MESSAGE)
    short_enough = "[" * 200 + "]" * 200  # under the length cap, still not a position
    with pytest.raises(MalformedRequestError):
        decode_cursor(base64.urlsafe_b64encode(short_enough.encode()).decode(), FIELDS, MESSAGE)


@pytest.mark.parametrize(("typed", "mailbox"), [
    ("Ann@Example.com", "ann@example.com"),
    ("  ann@example.com ", "ann@example.com"),
    ("ann+shop@example.com", "ann@example.com"),
    ("a.n.n@gmail.com", "ann@gmail.com"),
    ("A.nn+x@GoogleMail.com", "ann@gmail.com"),
    ("a.nn@example.com", "a.nn@example.com"),  # dots matter outside Gmail
    ("ann@sub.gmail.com", "ann@sub.gmail.com"),
])
def test_one_mailbox_one_key(typed: str, mailbox: str) -> None:
    assert normalise_address(typed) == mailbox


def test_the_clock_is_aware_and_in_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
