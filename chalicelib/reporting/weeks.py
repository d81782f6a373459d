"""NPS by ISO week: the counters a submission adds to its week, and the table of the last weeks read back."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

WEEKS_SHOWN = 8  # the results show the last 8 ISO weeks, the current one last
BUCKETS = ("promoters", "passives", "detractors")


def iso_week(moment: date) -> str:
    """The ISO week of a day, as 2026-W49 (ISO years: 2026-12-31 is in 2026-W53, 2027-01-04 in 2027-W01)."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def bucket(score: int | float | Decimal) -> str:
    """Which NPS group an answer from 0 to 10 falls in."""
    return "promoters" if score >= 9 else "passives" if score >= 7 else "detractors"


def week_counter(question: str, created_at: datetime, score: int | float | Decimal) -> str:
    """The counter one NPS answer adds 1 to: its question, the ISO week it arrived in, its group."""
    return f"week:{iso_week(created_at.date())}:{question}:{bucket(score)}"


def _monday(moment: date) -> date:
    return moment - timedelta(days=moment.weekday())


def nps_by_week(counters: Mapping[str, int | Decimal], question: str, today: date,
                weeks: int = WEEKS_SHOWN) -> list[dict[str, Any]]:
    """The last `weeks` ISO weeks up to `today`'s, oldest first: each group's count and the week's score.

    A week nobody answered has the score None. Submissions counted before Formloop kept weeks are in the
    overall NPS only; deleting one of them takes nothing from a week, so a count never reads below zero.
    """
    rows = []
    for back in range(weeks - 1, -1, -1):
        monday = _monday(today) - timedelta(weeks=back)
        week = iso_week(monday)
        counts = {name: max(0, int(counters.get(f"week:{week}:{question}:{name}", 0))) for name in BUCKETS}
        answered = sum(counts.values())
        score = round(100 * (counts["promoters"] - counts["detractors"]) / answered) if answered else None
        rows.append({"week": week, "from": monday.isoformat(), **counts, "answered": answered, "score": score})
    return rows
