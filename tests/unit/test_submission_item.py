"""A plain post's item, serialised straight from the Submission without PynamoDB (storage/items.py), is exactly
what its PynamoDB record serialises to; what it cannot write the same way, the record writes."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission
from chalicelib.storage.items import submission_item
from chalicelib.storage.submissions import SubmissionStore

STORE = SubmissionStore(Settings.from_environ({}))
TEXT = st.text(max_size=8)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])
# Answers as forms give them (text, numbers, booleans, lists, nested objects, nulls), keys included that
# PynamoDB's own MapAttribute takes as arguments.
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | TEXT
    | st.floats(allow_nan=False, allow_infinity=False, width=32),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
KEYS = TEXT | st.sampled_from(["null", "default", "attr_name", "hash_key", "range_key", "attribute_values"])
OPTIONAL = st.none() | st.text(max_size=12)
SUBMISSIONS = st.builds(
    Submission,
    form=st.text(min_size=1, max_size=12), id=st.text(min_size=1, max_size=26),
    created_at=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                            timezones=ZONES),
    status=st.sampled_from(["received", "spam", "pending"]),
    answers=st.dictionaries(KEYS, VALUES, max_size=6),
    feedback_kind=OPTIONAL, language=OPTIONAL, origin=OPTIONAL, user_agent=OPTIONAL, ip_hash=OPTIONAL,
    respondent_email=OPTIONAL | st.sampled_from(["Ann.Lee+x@Gmail.com", "ann@example.com", "not an address"]),
    reply_to=OPTIONAL | st.sampled_from(["annlee@gmail.com", "team@example.com"]), subject=OPTIONAL,
    retention_days=st.none() | st.integers(0, 3650),
    source=st.none() | st.dictionaries(st.sampled_from(["page", "utm_source", "utm_medium"]), TEXT, max_size=3),
)


def by_record(submission: Submission) -> dict[str, Any]:
    return STORE.tables.record_item(submission)


@settings(max_examples=300, deadline=None)
@given(SUBMISSIONS)
def test_a_plain_posts_item_is_what_its_record_serialises_to(submission: Submission) -> None:
    assert submission_item(submission) == by_record(submission)


def test_the_bench_survey_post_serialises_the_same_both_ways() -> None:
    submission = Submission(
        form="bench-survey", id="01JD0000000000000000000000", created_at=datetime(2026, 12, 3, 1, 2, 3, 4567, UTC),
        status="received", answers={"nps": 5, "channels": ["web", "shop"], "consent": True, "reason": "a\r\nb",
                                    "email": "ann@example.com", "visited": "2026-11-20", "score": 4.5, "none": None},
        feedback_kind="idea", language="en", user_agent="Mozilla/5.0", ip_hash="ab" * 32,
        respondent_email="ann@example.com", retention_days=365)
    item = submission_item(submission)
    assert item == by_record(submission)
    assert item is not None and item["expires_at"] == {
        "N": str(int(datetime(2027, 12, 3, 1, 2, 3, tzinfo=UTC).timestamp()))}
    assert item["created_at"] == {"S": "2026-12-03T01:02:03.004567+0000"}


@pytest.mark.parametrize("odd", [
    {"answers": {"when": datetime(2026, 1, 1, tzinfo=UTC)}},  # no JSON value: the record's MapAttribute decides
    {"answers": {"many": {1, 2}}},
    {"created_at": datetime(2026, 1, 1)},  # naive: the record reads it as UTC, and its TTL refuses it
    {"status": None},  # required: the record names it
])
def test_what_the_plain_item_cannot_write_alike_is_left_to_the_record(odd: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"form": "f", "id": "1", "created_at": datetime(2026, 1, 1, tzinfo=UTC),
                              "status": "received", "answers": {}, "retention_days": 30, **odd}
    assert submission_item(Submission(**fields)) is None


def test_a_missing_required_value_is_refused_as_the_record_refuses_it() -> None:
    submission = Submission(form="f", id="1", created_at=datetime(2026, 1, 1, tzinfo=UTC), status=None,  # type: ignore[arg-type]
                            answers={})
    with pytest.raises(ValueError) as by_store:
        STORE.put(submission)  # refused before anything is sent
    with pytest.raises(ValueError) as by_model:
        by_record(submission)
    assert str(by_store.value) == str(by_model.value)
