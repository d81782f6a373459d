"""Survey results: what each submission adds to the counters, and the summary read back from them."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.errors import StorageUnavailableError, StoreUnavailableError
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, FormRegistry, Question
from chalicelib.pages.rendering import choice_label, choice_values, matrix_rows, widget_of
from chalicelib.reporting.model import Contribution, TextAnswer
from chalicelib.reporting.store import ResultStore
from chalicelib.reporting.weeks import nps_by_week, week_counter

_SOURCE = re.compile(r"^[\w.+-]{1,60}$")
TEXT_CHARS = 2000  # a longer answer is cut in the results (the submission keeps all of it)
CHOICE_WIDGETS = ("radio", "select", "checkboxes")
SCALE_WIDGETS = ("rating", "nps")
TEXT_WIDGETS = ("text", "textarea")


def _count(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def contribution(definition: FormDefinition, submission: Submission, retention_days: int) -> Contribution | None:
    """What one stored submission adds to its form's counters (nothing for spam)."""
    if submission.status != "received":
        return None
    counts: dict[str, int | Decimal] = {"total": 1, f"day:{submission.created_at.date().isoformat()}": 1}
    if submission.feedback_kind:
        counts[f"kind:{submission.feedback_kind}"] = 1
    source = submission.source_label
    if source and _SOURCE.match(source):  # a plain name only: a counter per source lives in the form's one item
        counts[f"source:{source}"] = 1
    texts: dict[str, str] = {}
    for question in definition.questions:
        answer = submission.answers.get(question.name)
        if answer is None or answer == "" or answer == []:
            continue
        widget = widget_of(question)
        name = question.name
        counts[f"q:{name}:n"] = 1
        if widget == "likert" and isinstance(answer, Mapping):
            for row, value in answer.items():
                if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    counts[f"q:{name}.{row}={_count(value)}"] = 1
                    counts[f"q:{name}.{row}:n"] = 1
                    counts[f"q:{name}.{row}:sum"] = Decimal(str(value))
        elif widget in CHOICE_WIDGETS or widget in SCALE_WIDGETS or widget == "consent":
            # Only values the schema allowed reach storage, so these counters are bounded by the definition.
            for value in answer if isinstance(answer, list) else [answer]:
                counts[f"q:{name}={_count(value)}"] = 1
            if widget in SCALE_WIDGETS and isinstance(answer, (int, float, Decimal)):
                counts[f"q:{name}:sum"] = Decimal(str(answer))
            if widget == "nps" and isinstance(answer, (int, float, Decimal)) and not isinstance(answer, bool):
                counts[week_counter(name, submission.created_at, answer)] = 1
        elif widget == "number" and isinstance(answer, (int, float, Decimal)) and not isinstance(answer, bool):
            counts[f"q:{name}:sum"] = Decimal(str(answer))
        elif widget in TEXT_WIDGETS and isinstance(answer, str):
            texts[name] = answer[:TEXT_CHARS]
    return Contribution(form=submission.form, submission_id=submission.id, created_at=submission.created_at,
                        counts=counts, texts=texts, retention_days=retention_days)


def _num(value: int | Decimal | None) -> int | float:
    if value is None:
        return 0
    return int(value) if value == int(value) else float(value)


def _average(counters: Mapping[str, int | Decimal], prefix: str) -> float | None:
    answered = counters.get(f"{prefix}:n", 0)
    if not answered:
        return None
    return round(float(counters.get(f"{prefix}:sum", 0)) / float(answered), 2)


def _distribution(question: Question, counters: Mapping[str, int | Decimal], prefix: str,
                  language: str) -> list[dict[str, Any]]:
    rows = []
    for value in choice_values(question):
        count = _num(counters.get(f"{prefix}={_count(value)}"))
        rows.append({"value": value, "label": choice_label(question, value, language), "count": count})
    answered = _num(counters.get(f"{prefix}:n"))
    for row in rows:
        row["percent"] = round(100 * row["count"] / answered, 1) if answered else 0.0
    return rows


def nps_summary(distribution: list[dict[str, Any]]) -> dict[str, Any]:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6), with the counts."""
    promoters = sum(r["count"] for r in distribution if int(r["value"]) >= 9)
    passives = sum(r["count"] for r in distribution if 7 <= int(r["value"]) <= 8)
    detractors = sum(r["count"] for r in distribution if int(r["value"]) <= 6)
    answered = promoters + passives + detractors
    score = round(100 * (promoters - detractors) / answered) if answered else None
    return {"score": score, "promoters": promoters, "passives": passives, "detractors": detractors}


def _unavailable(what: str) -> StorageUnavailableError:
    return StorageUnavailableError(f"Results could not be {what} just now; try again in a few seconds.")


@dataclass
class ResultsService:
    """Keeps counters up to date as submissions arrive, and summarises them for admins."""

    forms: FormRegistry
    store: ResultStore
    default_retention_days: int = 365
    # The stock of a gift campaign (set when gifts are wired in), so results warn before codes run out.
    gift_stock: Callable[[str], dict[str, Any]] | None = None
    clock: Clock = utcnow  # NPS by week ends at the current week

    def consume(self, submission: Submission) -> None:
        """The post-write consumer: count a stored submission once, however often it is delivered."""
        added = self._contribution(submission)
        if added is not None:
            try:
                self.store.add(added)
            except StoreUnavailableError as exc:
                raise _unavailable("updated") from exc

    def forget(self, submission: Submission) -> None:
        """Take a submission that is being deleted out of the results (safe to call again)."""
        removed = self._contribution(submission)
        if removed is not None:
            try:
                self.store.remove(removed)
            except StoreUnavailableError as exc:
                raise _unavailable("updated") from exc

    def _contribution(self, submission: Submission) -> Contribution | None:
        definition = self.forms.get(submission.form)
        if definition is None:
            return None
        return contribution(definition, submission,
                            int(definition.settings.get("retentionDays", self.default_retention_days)))

    def summary(self, form_id: str, language: str | None = None) -> dict[str, Any]:
        """Every question's results (NPS by week too), plus counts by kind, source and day (JSON-ready)."""
        definition = self.forms.require(form_id)
        language = language or definition.locales[0]
        try:
            stored = self.store.read(form_id, [q.name for q in definition.questions
                                               if widget_of(q) in TEXT_WIDGETS])
        except StoreUnavailableError as exc:
            raise _unavailable("read") from exc
        counters = stored.counters
        questions = [self._question(q, counters, stored.texts.get(q.name, []), language)
                     for q in definition.questions if widget_of(q) != "hidden"]
        by_kind = {name.split(":", 1)[1]: _num(v) for name, v in counters.items() if name.startswith("kind:")}
        by_source = {name.split(":", 1)[1]: _num(v) for name, v in counters.items()
                     if name.startswith("source:") and v}
        by_day = sorted(({"day": name.split(":", 1)[1], "count": _num(v)} for name, v in counters.items()
                         if name.startswith("day:")), key=lambda d: str(d["day"]))
        summary = {"form": form_id, "title": definition.title(language), "language": language,
                   "total": _num(counters.get("total")), "byKind": by_kind, "byDay": by_day,
                   "bySource": by_source, "questions": questions}
        campaign = definition.settings.get("gift", {}).get("campaign")
        if campaign and self.gift_stock is not None:
            summary["gift"] = self.gift_stock(campaign)
        return summary

    def _question(self, question: Question, counters: Mapping[str, int | Decimal], texts: list[TextAnswer],
                  language: str) -> dict[str, Any]:
        widget = widget_of(question)
        prefix = f"q:{question.name}"
        out: dict[str, Any] = {"name": question.name, "label": question.label(language), "widget": widget,
                               "answered": _num(counters.get(f"{prefix}:n"))}
        if widget in CHOICE_WIDGETS:
            out["type"] = "multiple" if question.is_array else "choice"
            out["counts"] = _distribution(question, counters, prefix, language)
        elif widget in SCALE_WIDGETS:
            out["type"] = widget
            out["average"] = _average(counters, prefix)
            out["distribution"] = _distribution(question, counters, prefix, language)
            if widget == "nps":
                out["nps"] = nps_summary(out["distribution"])
                out["npsByWeek"] = nps_by_week(counters, question.name, self.clock().date())
        elif widget == "likert":
            out["type"] = "likert"
            out["rows"] = [{"key": key, "label": label, "answered": _num(counters.get(f"{prefix}.{key}:n")),
                            "average": _average(counters, f"{prefix}.{key}"),
                            "distribution": _distribution(question, counters, f"{prefix}.{key}", language)}
                           for key, label in matrix_rows(question, language)]
        elif widget == "consent":
            out["type"] = "consent"
            out["yes"] = _num(counters.get(f"{prefix}=true"))
        elif widget == "number":
            out["type"] = "number"
            out["average"] = _average(counters, prefix)
        elif widget in TEXT_WIDGETS:
            out["type"] = "text"
            out["latest"] = [{"id": t.submission_id, "text": t.text, "createdAt": t.created_at.isoformat()}
                             for t in texts]
        else:
            out["type"] = "answered"  # emails, dates, phone numbers: only how many answered
        return out


def render_results_page(summary: dict[str, Any]) -> str:
    """The results as an HTML page with SVG charts (no scripts)."""
    from chalicelib.reporting.charts import render_results_page as render
    return render(summary)
