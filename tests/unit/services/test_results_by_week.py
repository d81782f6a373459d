"""NPS by ISO week (chalicelib/reporting/weeks.py) on the in-memory result store, with a clock moved by hand: the
weeks shown end at the clock's week, each answer lands in the week it arrived, and a deletion takes it out."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.reporting.results import ResultsService, contribution
from chalicelib.reporting.weeks import WEEKS_SHOWN, bucket, iso_week
from chalicelib.storage.memory_results import MemoryResultStore

from .support import ROOT, Clock
from .test_results_service import FORM, feedback, questions


def _on(day: datetime, n: int, nps: int) -> Submission:
    submission = feedback(n, nps, 3, ["search"], "idea")
    return replace(submission, created_at=day)


def _weeks(results: ResultsService) -> dict[str, dict[str, object]]:
    return {row["week"]: row for row in questions(results.summary(FORM))["nps"]["npsByWeek"]}


def test_iso_weeks_follow_the_iso_calendar_across_new_year() -> None:
    assert iso_week(date(2026, 12, 3)) == "2026-W49"
    assert iso_week(date(2026, 12, 31)) == "2026-W53"
    assert iso_week(date(2027, 1, 3)) == "2026-W53"  # a Sunday: still the old year's last week
    assert iso_week(date(2027, 1, 4)) == "2027-W01"
    assert [bucket(s) for s in (0, 6, 7, 8, 9, 10)] == ["detractors"] * 2 + ["passives"] * 2 + ["promoters"] * 2


def test_each_answer_counts_in_the_week_it_arrived_and_the_weeks_end_at_the_clock() -> None:
    clock = Clock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # a Thursday of 2026-W49
    results = ResultsService(FormRegistry(ROOT / "forms"), MemoryResultStore(clock=clock), clock=clock)
    for n, (day, nps) in enumerate([(datetime(2026, 12, 1, tzinfo=UTC), 10), (datetime(2026, 12, 3, tzinfo=UTC), 3),
                                    (datetime(2026, 11, 30, tzinfo=UTC), 9),  # Monday: the same week
                                    (datetime(2026, 11, 29, 23, 59, tzinfo=UTC), 7),  # Sunday: the week before
                                    (datetime(2026, 10, 20, tzinfo=UTC), 0)]):  # older than the weeks shown
        results.consume(_on(day, n, nps))
    weeks = _weeks(results)
    assert len(weeks) == WEEKS_SHOWN and list(weeks)[-1] == "2026-W49" and list(weeks)[0] == "2026-W42"
    assert weeks["2026-W49"] == {"week": "2026-W49", "from": "2026-11-30", "promoters": 2, "passives": 0,
                                 "detractors": 1, "answered": 3, "score": 33}
    assert weeks["2026-W48"]["passives"] == 1 and weeks["2026-W48"]["score"] == 0
    assert weeks["2026-W47"]["answered"] == 0 and weeks["2026-W47"]["score"] is None
    # The overall NPS still counts every answer, the one older than the weeks shown too.
    assert questions(results.summary(FORM))["nps"]["nps"]["detractors"] == 2

    clock.advance(days=7)  # a week on: the table moves with the clock, the new week empty
    weeks = _weeks(results)
    assert list(weeks)[-1] == "2026-W50" and weeks["2026-W50"]["answered"] == 0
    assert weeks["2026-W49"]["answered"] == 3


def test_a_deleted_answer_leaves_its_week_and_a_week_never_reads_below_zero() -> None:
    clock = Clock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    store = MemoryResultStore(clock=clock)
    results = ResultsService(FormRegistry(ROOT / "forms"), store, clock=clock)
    kept, deleted = _on(datetime(2026, 12, 1, tzinfo=UTC), 1, 10), _on(datetime(2026, 12, 2, tzinfo=UTC), 2, 2)
    results.consume(kept)
    results.consume(deleted)
    results.forget(deleted)
    assert _weeks(results)["2026-W49"] == {"week": "2026-W49", "from": "2026-11-30", "promoters": 1,
                                             "passives": 0, "detractors": 0, "answered": 1, "score": 100}
    # A submission counted before weeks were kept: deleting it subtracts a week count that was never added.
    older = _on(datetime(2026, 12, 2, tzinfo=UTC), 3, 0)
    added = contribution(FormRegistry(ROOT / "forms").require(FORM), older, 365)
    assert added is not None
    store.add(replace(added, counts={k: v for k, v in added.counts.items() if not k.startswith("week:")}))
    results.forget(older)
    assert _weeks(results)["2026-W49"]["detractors"] == 0 and _weeks(results)["2026-W49"]["score"] == 100
