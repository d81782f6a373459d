"""The results page's charts (chalicelib/reporting/charts.py): every label placed inside its chart, the by-day
chart as wide as the others with whole dates, and counts worded in the singular for one."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.reporting.charts import CHART_WIDTH, bar_chart, day_chart, plural, render_results_page, text_width


def _summary(**changes: Any) -> dict[str, Any]:
    nps = [{"value": v, "label": str(v), "count": 1 if v in (3, 10) else 0, "percent": 50.0 if v in (3, 10) else 0.0}
           for v in range(11)]
    summary: dict[str, Any] = {
        "form": "customer-survey", "title": "How did we do?", "language": "en", "total": 1,
        "byKind": {"complaint": 1}, "byDay": [{"day": "2026-12-01", "count": 1}],
        "bySource": {"newsletter-december-2026": 1},
        "questions": [{"name": "nps", "label": "How likely are you to recommend us?", "widget": "nps", "type": "nps",
                       "answered": 2, "average": 6.5, "distribution": nps,
                       "nps": {"score": 0, "promoters": 1, "passives": 0, "detractors": 1},
                       "npsByWeek": [{"week": "2026-W49", "from": "2026-11-30", "promoters": 1, "passives": 0,
                                      "detractors": 1, "answered": 2, "score": 0}]},
                      {"name": "csat", "label": "Overall", "widget": "radio", "type": "choice", "answered": 2,
                       "counts": [{"value": "a", "label": "Very satisfied with everything we did", "count": 1,
                                   "percent": 50.0},
                                  {"value": "b", "label": "Unhappy", "count": 1, "percent": 50.0}]}]}
    return {**summary, **changes}


@pytest.mark.parametrize("rows", [
    [{"label": "1", "count": 1, "percent": 50.0}, {"label": "2", "count": 1, "percent": 50.0}],
    [{"label": "complaint", "count": 12345}, {"label": "praise", "count": 1}],
    [{"label": "A label far longer than any inline column could hold, and then some", "count": 3, "percent": 100.0}],
])
def test_every_label_and_value_of_a_bar_chart_fits_inside_it(rows: list[dict[str, Any]]) -> None:
    chart = bar_chart(rows)
    for bar in chart["bars"]:
        assert text_width(bar["text"]) <= bar["bar_x"] or bar["bar_x"] == 0  # a label beside its bar fits its column
        assert text_width(bar["text"]) <= CHART_WIDTH
        assert bar["value_x"] + text_width(bar["value"]) <= CHART_WIDTH  # "1 (50.0%)" keeps its parenthesis
        assert bar["label_y"] <= chart["height"] and bar["bar_y"] + 16 <= chart["height"]


def test_the_page_shows_whole_values_in_a_chart_no_wider_than_a_phone() -> None:
    page = render_results_page(_summary())
    assert ">1 (50.0%)</text>" in page
    for width in re.findall(r'<svg class="chart"[^>]* width="(\d+)"', page):
        assert int(width) <= CHART_WIDTH


def test_the_day_chart_is_as_wide_as_the_others_and_shows_whole_dates() -> None:
    one = day_chart([{"day": "2026-12-01", "count": 1}])
    assert one is not None and one["width"] == CHART_WIDTH and one["first"] == "2026-12-01"
    start = datetime(2026, 9, 1, tzinfo=UTC).date()
    many = day_chart([{"day": (start + timedelta(days=d)).isoformat(), "count": d % 3} for d in range(0, 90, 2)])
    assert many is not None and len(many["columns"]) == 60  # the last 60 days, days without posts included
    assert many["last"] == "2026-11-28" and many["first"] == "2026-09-30"
    assert all(c["x"] + c["width"] <= CHART_WIDTH for c in many["columns"])
    page = render_results_page(_summary())
    assert ">2026-12-01</text>" in page and ">202</text>" not in page


def test_counts_of_one_are_singular() -> None:
    assert plural(1, "promoter", "promoters") == "1 promoter"
    assert plural(0, "promoter", "promoters") == "0 promoters"
    page = render_results_page(_summary())
    assert "1 promoter · 0 passives · 1 detractor" in page
    assert "1 promoters" not in page and "1 submission counted" in page


def test_nps_by_week_is_a_table_of_the_weeks() -> None:
    page = render_results_page(_summary())
    row = re.search(r"<tr><th scope=\"row\" title=\"2026-W49\">30 Nov</th>.*?</tr>", page)
    assert row is not None
    assert re.findall(r"<td>([^<]*)</td>", row[0]) == ["1", "0", "1", "0"]
