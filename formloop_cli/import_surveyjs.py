"""`formloop import-surveyjs survey.json`: turn a SurveyJS survey into a Formloop definition."""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.forms.checks import LOCALE
from formloop_cli.importing import ImportReport, form_id_from, write_definition
from formloop_cli.surveyjs_expressions import Answer, ExpressionError, compile_condition
from formloop_cli.surveyjs_questions import LAYOUT_KEYS, QuestionConverter

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
CONTAINER_KEYS = frozenset({"type", "name", "title", "description", "elements", "questions", "visibleIf", "state",
                            "questionTitleLocation", "navigationTitle", "navigationDescription", "innerIndent",
                            "startWithNewLine", "showQuestionNumbers", "width", "minWidth", "maxWidth"})
SURVEY_KEYS = frozenset({"title", "description", "pages", "elements", "questions", "locale", "completedHtml"})
SURVEY_LAYOUT_KEYS = frozenset({
    "showProgressBar", "progressBarType", "showQuestionNumbers", "questionTitleLocation", "widthMode", "width",
    "logo", "logoPosition", "logoFit", "logoWidth", "logoHeight", "showTitle", "showPageTitles", "showPageNumbers",
    "questionsOnPageMode", "pagePrevText", "pageNextText", "completeText", "firstPageIsStarted", "focusFirstQuestion",
    "checkErrorsMode", "textUpdateMode", "headerView", "showNavigationButtons", "goNextPageAutomatic",
    "questionErrorLocation", "questionDescriptionLocation", "showPrevButton", "showCompletedPage",
})
_TAG = re.compile(r"<[^>]*>")


@dataclass
class Placed:
    """A question found in the survey, with the visibility conditions of the panels and pages around it."""

    question: dict[str, Any]
    container_conditions: list[str] = field(default_factory=list)


class Localizer:
    """SurveyJS strings (`"text"` or `{"default": …, "ru": …}`) -> Formloop labels, noting every language used."""

    def __init__(self, default: str, report: ImportReport) -> None:
        self.default = default
        self.report = report
        self.languages: list[str] = [default]

    def __call__(self, value: Any) -> Any:
        """A Formloop label: plain text, or a map of languages when the survey gives several."""
        if not isinstance(value, dict):
            return "" if value is None else str(value)
        label: dict[str, str] = {}
        for key, text in value.items():
            language = self.default if key == "default" else str(key).lower()
            if not re.match(LOCALE, language):
                self.report.gap(f"locale {key}", "translation", "not a language tag Formloop knows")
                continue
            label.setdefault(language, str(text))
            if language not in self.languages:
                self.languages.append(language)
        if list(label) == [self.default]:
            return label[self.default]
        return label or ""


def walk(elements: list[Any], conditions: list[str], report: ImportReport, layout: set[str]) -> Iterator[Placed]:
    """Every question inside panels and pages, in order, with the conditions of what holds it."""
    for element in elements if isinstance(elements, list) else []:
        if not isinstance(element, dict):
            report.gap(str(element)[:40], "malformed element", "a question or panel is a JSON object")
            continue
        if element.get("type") == "panel":
            name = str(element.get("name", "panel"))
            if element.get("title"):
                report.gap(name, "panel title (a section heading)",
                           "Formloop has no sections: the panel's questions are kept in order, without the heading")
            _unknown(element, CONTAINER_KEYS, name, report, layout)
            inner = conditions + ([element["visibleIf"]] if element.get("visibleIf") else [])
            yield from walk(element.get("elements") or element.get("questions") or [], inner, report, layout)
        else:
            yield Placed(element, list(conditions))


def _unknown(node: dict[str, Any], known: frozenset[str] | set[str], name: str, report: ImportReport,
             layout: set[str]) -> None:
    """List each setting not converted: layout ones together (Formloop's page lays itself out), others one by one."""
    for key in node:
        if key in LAYOUT_KEYS and key not in known:
            layout.add(key)
        elif key not in known:
            report.gap(name, f"setting {key}", "Formloop has no equivalent")


def convert_survey(survey: dict[str, Any], form_id: str) -> tuple[dict[str, Any], ImportReport]:
    """The definition of a SurveyJS survey and the report of what was converted."""
    report = ImportReport()
    localize = Localizer(str(survey.get("locale") or "en").lower(), report)
    converter = QuestionConverter(report, localize)
    placed: list[Placed] = []
    layout: set[str] = set()
    pages = survey.get("pages") or [{"elements": survey.get("elements") or survey.get("questions") or []}]
    for number, page in enumerate(pages if isinstance(pages, list) else [], start=1):
        if not isinstance(page, dict):
            report.gap(f"page {number}", "malformed page", "a page is a JSON object")
            continue
        page_name = str(page.get("name", f"page {number}"))
        if page.get("title"):
            report.gap(page_name, "page title", "Formloop shows one page: the page's questions follow the others")
        _unknown(page, CONTAINER_KEYS, page_name, report, layout)
        conditions = [page["visibleIf"]] if page.get("visibleIf") else []
        placed += walk(page.get("elements") or page.get("questions") or [], conditions, report, layout)
    properties: dict[str, Any] = {}
    required: list[str] = []
    answers: dict[str, Answer] = {}
    kept: list[Placed] = []
    for item in placed:
        question = item.question
        name = str(question.get("name", ""))
        if not name or name.startswith("_") or name in properties:
            report.gap(name or "(unnamed)", f"{question.get('type')} question",
                       "a question needs a name unique in the survey, not starting with '_'")
            continue
        try:
            built = converter.convert(question)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # A hand-edited survey may put a string where SurveyJS expects a list or a number.
            report.gap(name, f"{question.get('type')} question", f"malformed: {type(exc).__name__}: {exc}")
            continue
        if built is None:
            continue
        schema, used = built
        _unknown(question, used, name, report, layout)
        properties[name] = schema
        if question.get("isRequired"):
            required.append(name)
        answers.update(_answers_of(name, schema))
        kept.append(item)
        report.guess(name, str(schema["x-ui"]["widget"]), bool(question.get("isRequired")),
                     f"SurveyJS {question.get('type')}" + (f" ({question['inputType']})" if "inputType" in question
                                                           else ""))
    required_if = _conditions(kept, properties, answers, report)
    settings: dict[str, Any] = {"kind": "survey", "locales": localize.languages}
    for key, setting in (("title", "title"), ("description", "description"), ("completedHtml", "thanks")):
        if survey.get(key):
            settings[setting] = _plain(localize(survey[key]))
    for key in survey:
        if key in SURVEY_LAYOUT_KEYS:
            layout.add(key)
        elif key not in SURVEY_KEYS:
            report.gap("survey", f"setting {key}", "Formloop has no equivalent")
    if layout:
        report.notes.append("layout settings left to Formloop's own page: " + ", ".join(sorted(layout)))
    title = settings.get("title")
    definition: dict[str, Any] = {
        "$schema": SCHEMA_URI, "$id": form_id,
        "title": title if isinstance(title, str) else next(iter((title or {form_id: form_id}).values())),
        "type": "object", "additionalProperties": False, "required": required, "properties": properties,
        "x-form": settings,
    }
    if required_if:
        definition["allOf"] = required_if
    return definition, report


def _answers_of(name: str, schema: dict[str, Any]) -> dict[str, Answer]:
    """What a condition may test of this question: the answer, and each row of a matrix."""
    kind = str(schema.get("type"))
    if kind == "array":
        values = schema["items"]["enum"]
        kind = "array-integer" if all(isinstance(v, int) for v in values) else "array-string"
    found = {name: Answer((name,), kind)}
    for row, row_schema in (schema.get("properties") or {}).items():
        found[f"{name}.{row}"] = Answer((name, row), str(row_schema.get("type")))
    return found


def _conditions(kept: list[Placed], properties: dict[str, Any], answers: dict[str, Answer],
                report: ImportReport) -> list[dict[str, Any]]:
    """visibleIf (its own and its panels' and pages') into `x-ui.visibleIf`; requiredIf into top-level if/then."""
    compiled_required: list[dict[str, Any]] = []
    for item in kept:
        name = str(item.question["name"])
        visible: list[dict[str, Any]] = []
        for expression in [*item.container_conditions, *([item.question["visibleIf"]]
                                                         if item.question.get("visibleIf") else [])]:
            condition = _compile(name, "visibleIf", expression, answers, report)
            if condition is not None:
                visible.append(condition)
        if visible:
            properties[name]["x-ui"]["visibleIf"] = visible[0] if len(visible) == 1 else {"allOf": visible}
        expression = item.question.get("requiredIf")
        if expression and not item.question.get("isRequired"):
            condition = _compile(name, "requiredIf", expression, answers, report)
            if condition is not None:
                # A hidden question is never required: the rule holds only while the question is shown.
                when = {"allOf": [*visible, condition]} if visible else condition
                compiled_required.append({"if": when, "then": {"required": [name]}})
    return compiled_required


def _compile(name: str, key: str, expression: Any, answers: dict[str, Answer],
             report: ImportReport) -> dict[str, Any] | None:
    try:
        return compile_condition(str(expression), answers)
    except ExpressionError as exc:
        report.gap(name, f"{key} {expression!r}", str(exc))
        return None


def _plain(label: Any) -> Any:
    """HTML (SurveyJS's completedHtml) as plain text, per language."""
    if isinstance(label, dict):
        return {language: _plain(text) for language, text in label.items()}
    return " ".join(html.unescape(_TAG.sub(" ", str(label))).split())


def main(argv: list[str]) -> int:
    """Import a SurveyJS survey; 0 when the definition was written, 1 when not, 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="formloop import-surveyjs",
                                     description="Turn a SurveyJS survey (JSON) into a Formloop definition.")
    parser.add_argument("survey", type=Path, help="the survey's JSON file")
    parser.add_argument("--form-id", help="the Formloop form id (default: from the file name)")
    parser.add_argument("--forms-dir", type=Path, default=Path("forms"), help="where definitions live")
    parser.add_argument("--force", action="store_true", help="replace an existing definition")
    args = parser.parse_args(argv)
    try:
        survey = json.loads(args.survey.read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"error: cannot read {args.survey}: {exc.strerror}", file=sys.stderr)
        return 1
    except (ValueError, RecursionError) as exc:
        print(f"error: {args.survey} is not JSON we can read: {exc}", file=sys.stderr)
        return 1
    if not isinstance(survey, dict):
        print(f"error: {args.survey} is not a SurveyJS survey (a JSON object)", file=sys.stderr)
        return 1
    form_id = args.form_id or form_id_from(args.survey.stem) or "survey"
    if form_id_from(form_id) != form_id:
        print(f"error: --form-id {form_id!r} must be lower-case letters, digits and '-'", file=sys.stderr)
        return 2
    try:
        definition, report = convert_survey(survey, form_id)
    except RecursionError:
        print(f"error: {args.survey} nests panels or expressions too deeply to convert", file=sys.stderr)
        return 1
    return write_definition(definition, form_id, args.forms_dir, force=args.force, report=report)
