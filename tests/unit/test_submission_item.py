"""A plain post's item, serialised straight from the Submission, is exactly what its PynamoDB record serialises to."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission
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
OPTIONAL = st.none() | st.text(min_size=1, max_size=12)
SUBMISSIONS = st.builds(
    Submission,
    form=st.text(min_size=1, max_size=12), id=st.text(min_size=1, max_size=26),
    created_at=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                            timezones=ZONES),
    status=st.sampled_from(["received", "spam", "pending"]),
    answers=st.dictionaries(KEYS, VALUES, max_size=6),
    feedback_kind=OPTIONAL, language=OPTIONAL, origin=OPTIONAL, user_agent=OPTIONAL, ip_hash=OPTIONAL,
    respondent_email=OPTIONAL, reply_to=OPTIONAL, subject=OPTIONAL,
    retention_days=st.none() | st.integers(0, 3650),
    source=st.none() | st.dictionaries(st.sampled_from(["page", "utm_source", "utm_medium"]), TEXT, max_size=3),
)


def by_record(submission: Submission) -> tuple[str, dict[str, Any]]:
    return STORE._put_arguments(STORE._record(submission))


@settings(max_examples=300, deadline=None)
@given(SUBMISSIONS)
def test_a_plain_posts_item_is_what_its_record_serialises_to(submission: Submission) -> None:
    assert STORE._plain_put_arguments(submission) == by_record(submission)


def test_the_bench_survey_post_serialises_the_same_both_ways() -> None:
    submission = Submission(
        form="bench-survey", id="01JD0000000000000000000000", created_at=datetime(2026, 12, 3, 1, 2, 3, 4567, UTC),
        status="received", answers={"nps": 5, "channels": ["web", "shop"], "consent": True, "reason": "a\r\nb",
                                    "email": "ann@example.com", "visited": "2026-11-20", "score": 4.5, "none": None},
        feedback_kind="idea", language="en", user_agent="Mozilla/5.0", ip_hash="ab" * 32,
        respondent_email="ann@example.com", retention_days=365)
    assert STORE._plain_put_arguments(submission) == by_record(submission)
    assert STORE._plain_put_arguments(submission)[1]["expires_at"] == {
        "N": str(int(datetime(2027, 12, 3, 1, 2, 3, tzinfo=UTC).timestamp()))}


def test_a_missing_required_value_is_refused_as_the_record_refuses_it() -> None:
    submission = Submission(form="f", id="1", created_at=datetime(2026, 1, 1, tzinfo=UTC), status=None,  # type: ignore[arg-type]
                            answers={})
    with pytest.raises(ValueError) as by_plan:
        STORE._plain_put_arguments(submission)
    with pytest.raises(ValueError) as by_model:
        by_record(submission)
    assert str(by_plan.value) == str(by_model.value)
