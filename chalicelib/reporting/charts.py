"""The results page's charts: the geometry of each SVG, sized so that every label fits inside its chart.

Charts are drawn in a 340-unit wide box that the page shrinks to a phone's width and never stretches, so
text keeps its size on a desktop and stays whole on a 390 px screen. Text widths are estimated a little wider
than system-ui draws them (CHAR_WIDTH per character at 13 px); the browser tests measure the real boxes.
"""
from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

CHART_WIDTH = 340
CHAR_WIDTH = 8.4  # 13 px system-ui; DejaVu Sans (Debian's) draws digits 8.3 px wide, most letters narrower
INLINE_LABEL_CHARS = 16  # longer choice labels go on their own line above their bar
ROW = 26  # a bar with its label beside it
TALL_ROW = 42  # a label line, then its bar
BAR = 16
GAP = 6
DAY_COLUMNS = 60  # the by-day chart spans at most the last 60 days up to the latest submission
DAY_HEIGHT = 150
DAY_TOP, DAY_BASE = 22, 126  # the tallest column reaches DAY_TOP; columns stand on DAY_BASE
COLOURS = ("#b2182b", "#ef8a62", "#bababa", "#67a9cf", "#2166ac")
NPS_COLOURS = {"detractors": "#b2182b", "passives": "#bababa", "promoters": "#2166ac"}


def plural(count: int | float, one: str, many: str) -> str:
    """"1 promoter", "2 promoters", "0 promoters": English only, as the owner's pages are."""
    return f"{count} {one if count == 1 else many}"


def text_width(text: str) -> float:
    """How wide a line of 13 px text may be drawn, generously."""
    return len(text) * CHAR_WIDTH


def fit(text: str, width: float) -> str:
    """The text, cut with an ellipsis when it would be wider than `width` (the chart's title keeps it whole)."""
    chars = max(int(width // CHAR_WIDTH), 1)
    return text if len(text) <= chars else text[:chars - 1].rstrip() + "…"


def _value(row: dict[str, Any]) -> str:
    return f"{row['count']} ({row['percent']}%)" if "percent" in row else str(row["count"])


def bar_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A horizontal bar chart: each bar's label, rectangle and value placed inside CHART_WIDTH."""
    if not rows:
        return {"bars": [], "width": CHART_WIDTH, "height": 0}
    values = [_value(row) for row in rows]
    value_room = math.ceil(max(text_width(v) for v in values)) + GAP
    labels = [str(row["label"]) for row in rows]
    inline = max(len(label) for label in labels) <= INLINE_LABEL_CHARS
    label_room = math.ceil(max(text_width(label) for label in labels)) + GAP * 2 if inline else 0
    longest = max(CHART_WIDTH - label_room - value_room, 1)
    top = max((row["count"] for row in rows), default=0) or 1
    row_height = ROW if inline else TALL_ROW
    bars = []
    for index, (row, label, value) in enumerate(zip(rows, labels, values, strict=True)):
        y = index * row_height
        bar_y = y + 4 if inline else y + 20
        width = round(longest * row["count"] / top, 1)
        bars.append({**row, "text": fit(label, CHART_WIDTH) if not inline else label, "value": value,
                     "label_y": y + 17 if inline else y + 14, "bar_x": label_room, "bar_y": bar_y, "bar_width": width,
                     "value_x": round(label_room + width + GAP, 1), "value_y": bar_y + 12})
    return {"bars": bars, "width": CHART_WIDTH, "height": len(rows) * row_height + 4}


def stack(rows: list[dict[str, Any]], colours: list[str] | None = None) -> list[dict[str, Any]]:
    """Segments of one 100% stacked bar (x and width out of 100), each with its colour for the bar and legend."""
    total = sum(row["count"] for row in rows) or 1
    x = 0.0
    out = []
    for index, row in enumerate(rows):
        width = 100 * row["count"] / total
        colour = colours[index] if colours else COLOURS[round(index * (len(COLOURS) - 1) / max(len(rows) - 1, 1))]
        out.append({**row, "x": round(x, 2), "width": round(width, 2), "colour": colour})
        x += width
    return out


def day_chart(by_day: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Columns per calendar day, days without submissions included, up to the latest day that had one."""
    if not by_day:
        return None
    counts = {str(d["day"]): d["count"] for d in by_day}
    last = date.fromisoformat(max(counts))
    first = max(date.fromisoformat(min(counts)), last - timedelta(days=DAY_COLUMNS - 1))
    days = [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]
    top = max(counts.get(day, 0) for day in days) or 1
    step = CHART_WIDTH / max(len(days), 1)
    width = round(min(step * 0.8, 28), 1)
    columns = []
    for index, day in enumerate(days):
        height = round((DAY_BASE - DAY_TOP) * counts.get(day, 0) / top)
        columns.append({"day": day, "count": counts.get(day, 0), "x": round(index * step, 1), "width": width,
                        "y": DAY_BASE - height, "height": height})
    return {"columns": columns, "width": CHART_WIDTH, "height": DAY_HEIGHT, "first": days[0], "last": days[-1],
            "peak": f"most in one day: {top}", "base": DAY_BASE, "top": DAY_TOP}


def _day_month(day: str) -> str:
    moment = date.fromisoformat(day)
    return f"{moment.day} {moment:%b}"


def _question_view(question: dict[str, Any]) -> dict[str, Any]:
    view = dict(question)
    if "counts" in question:
        view["chart"] = bar_chart(question["counts"])
    if "distribution" in question:
        view["chart"] = bar_chart(question["distribution"])
    nps = question.get("nps")
    if nps:
        groups = ("detractors", "passives", "promoters")
        view["nps_stack"] = stack([{"label": name, "count": nps[name]} for name in groups],
                                  [NPS_COLOURS[name] for name in groups])
        view["nps_words"] = " · ".join((plural(nps["promoters"], "promoter", "promoters"),
                                        plural(nps["passives"], "passive", "passives"),
                                        plural(nps["detractors"], "detractor", "detractors")))
    if question.get("npsByWeek"):
        view["weeks"] = [{**week, "label": _day_month(week["from"])} for week in question["npsByWeek"]]
    if "rows" in question:
        view["rows"] = [{**row, "stack": stack(row["distribution"])} for row in question["rows"]]
        view["legend"] = view["rows"][0]["stack"] if view["rows"] else []
    return view


def results_view(summary: dict[str, Any]) -> dict[str, Any]:
    """The results page's view model: the summary plus the geometry of its SVG charts."""
    kinds = bar_chart([{"label": kind, "count": count} for kind, count in sorted(summary["byKind"].items())])
    sources = bar_chart([{"label": source, "count": count} for source, count
                         in sorted(summary.get("bySource", {}).items(), key=lambda item: (-item[1], item[0]))])
    return {**summary, "questions": [_question_view(q) for q in summary["questions"]], "kinds": kinds,
            "sources": sources, "days": day_chart(summary["byDay"]),
            "total_words": plural(summary["total"], "submission", "submissions"),
            "page_title": f"{summary['title']} — results"}


def render_results_page(summary: dict[str, Any]) -> str:
    """The results as an HTML page with SVG charts (no scripts), as the admin API serves it."""
    from chalicelib.pages.rendering import render
    return render("results.html", **results_view(summary))
