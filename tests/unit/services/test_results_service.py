"""ResultsService behaviour on the in-memory result store (tests/integration/test_results_behaviour.py: on
DynamoDB): counters, NPS, a submission counted once, and taken out again when deleted."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ulid import ULID

from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.reporting.results import ResultsService
from chalicelib.reporting.store import ResultStore
from chalicelib.storage.memory_results import MemoryResultStore

from .support import ROOT

FORM = "product-feedback"


def feedback(n: int, nps: int, satisfaction: int, features: list[str], kind: str, improve: str | None = None,
             *, days_ago: int = 0) -> Submission:
    """A stored product-feedback submission; a higher `n` is a later one."""
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    answers: dict[str, Any] = {"email": f"r{n}@example.com", "satisfaction": satisfaction, "nps": nps,
                               "features": features, "agreement": {"easy": satisfaction, "fast": 3}, "kind": kind,
                               "orders": n * 2, "consent": True}
    if improve:
        answers["improve"] = improve
    return Submission(form=FORM, id=str(ULID.from_timestamp(created.timestamp() + n)), created_at=created,
                      status="received", answers=answers, feedback_kind=kind)


# NPS 10, 9, 8, 3, 0: 2 promoters, 1 passive, 2 detractors -> score 0.
KNOWN = [
    feedback(1, 10, 5, ["search"], "praise"),
    feedback(2, 9, 4, ["search", "returns"], "praise"),
    feedback(3, 8, 4, ["tracking"], "idea"),
    feedback(4, 3, 2, ["returns", "search"], "complaint", "Checkout keeps failing"),
    feedback(5, 0, 1, ["reviews"], "complaint", "Too slow"),
]


def questions(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {question["name"]: question for question in summary["questions"]}


class TestResultsService:
    """Counting submissions into results and reading them back, on whatever store the fixture gives."""

    @pytest.fixture
    def store(self) -> ResultStore:
        return MemoryResultStore()

    @pytest.fixture
    def results(self, store: ResultStore) -> ResultsService:
        return ResultsService(FormRegistry(ROOT / "forms"), store)

    def test_counts_and_nps(self, results: ResultsService) -> None:
        for submission in KNOWN:
            results.consume(submission)
        summary = results.summary(FORM)
        assert summary["total"] == 5
        assert summary["byKind"] == {"praise": 2, "idea": 1, "complaint": 2}
        assert summary["byDay"] == [{"day": KNOWN[0].created_at.date().isoformat(), "count": 5}]
        q = questions(summary)
        assert q["nps"]["nps"] == {"score": 0, "promoters": 2, "passives": 1, "detractors": 2}
        assert q["nps"]["average"] == 6.0
        assert q["satisfaction"]["average"] == 3.2
        assert {c["value"]: c["count"] for c in q["features"]["counts"]} == {
            "search": 3, "checkout": 0, "tracking": 1, "returns": 2, "reviews": 1}
        assert {row["key"]: row["average"] for row in q["agreement"]["rows"]}["fast"] == 3.0
        assert q["orders"]["average"] == 6.0 and q["consent"]["yes"] == 5
        assert [t["text"] for t in q["improve"]["latest"]] == ["Too slow", "Checkout keeps failing"]

    def test_a_submission_consumed_twice_counts_once(self, results: ResultsService) -> None:
        for submission in KNOWN + KNOWN:  # the stream delivers every record a second time
            results.consume(submission)
        q = questions(results.summary(FORM))
        assert results.summary(FORM)["total"] == 5
        assert q["nps"]["nps"]["promoters"] == 2
        assert len(q["improve"]["latest"]) == 2

    def test_spam_is_not_counted(self, results: ResultsService) -> None:
        spam = feedback(9, 10, 5, ["search"], "praise")
        spam.status = "spam"
        results.consume(spam)
        assert results.summary(FORM)["total"] == 0

    def test_forgetting_a_submission_subtracts_it_once(self, results: ResultsService) -> None:
        for submission in KNOWN:
            results.consume(submission)
        results.forget(KNOWN[3])  # NPS 3, a complaint with a text answer
        results.forget(KNOWN[3])  # a deletion sent again subtracts nothing more
        summary = results.summary(FORM)
        q = questions(summary)
        assert summary["total"] == 4 and summary["byKind"]["complaint"] == 1
        assert q["nps"]["nps"] == {"score": 25, "promoters": 2, "passives": 1, "detractors": 1}
        assert {c["value"]: c["count"] for c in q["features"]["counts"]}["search"] == 2
        assert [t["text"] for t in q["improve"]["latest"]] == ["Too slow"]

    def test_forgetting_what_was_never_counted_changes_nothing(self, results: ResultsService) -> None:
        results.consume(KNOWN[0])
        results.forget(KNOWN[1])
        assert results.summary(FORM)["total"] == 1

    def test_texts_past_their_retention_are_not_shown(self, results: ResultsService) -> None:
        old = feedback(1, 5, 3, ["search"], "idea", "An old answer", days_ago=400)  # the form keeps 365 days
        results.consume(old)
        results.consume(feedback(2, 5, 3, ["search"], "idea", "A new answer"))
        q = questions(results.summary(FORM))
        assert [t["text"] for t in q["improve"]["latest"]] == ["A new answer"]
        assert results.summary(FORM)["total"] == 2  # the counters keep it: only the text is past its time
