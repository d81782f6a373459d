"""One SurveyJS question -> one Formloop question (JSON Schema + `x-ui`), or the reason it cannot be one."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from formloop_cli.importing import ImportReport

Localize = Callable[[Any], Any]
# Keys that only arrange a question on SurveyJS's page: Formloop's page lays questions out itself.
LAYOUT_KEYS = frozenset({
    "startWithNewLine", "width", "minWidth", "maxWidth", "titleLocation", "descriptionLocation", "indent",
    "colCount", "rows", "size", "autoGrow", "allowResize", "hideNumber", "separateSpecialChoices", "renderAs",
    "displayMode", "rateDisplayMode", "rateType", "scaleColorMode", "rateColorMode", "showTitle", "state",
    "questionTitleLocation", "innerIndent", "choicesOrder", "allowClear", "searchEnabled", "showCommentArea",
    "errorLocation", "alternateRows", "columnMinWidth", "rowTitleWidth", "showHeader", "autocomplete",
    "labelTrue", "labelFalse", "swapOrder", "inputSize",
})
# Keys this converter reads for every question (the type-specific ones are read by each converter).
COMMON_KEYS = frozenset({"type", "name", "title", "description", "isRequired", "visibleIf", "requiredIf",
                         "placeholder"})
NOT_SUPPORTED = {
    "expression": "a computed value, not a question", "file": "Formloop takes text answers only",
    "signaturepad": "Formloop takes text answers only", "multipletext": "several inputs in one question",
    "matrixdropdown": "a matrix of dropdowns", "matrixdynamic": "a matrix with rows added by the respondent",
    "paneldynamic": "panels added by the respondent", "ranking": "ranked answers", "imagepicker": "image choices",
    "image": "an image block: Formloop has no content blocks", "tagbox": "a tag picker",
    "html": "a text block: Formloop has no content blocks between questions",
}
TEXT_INPUTS = {"text": ("text", {}), "email": ("email", {"format": "email"}), "date": ("date", {"format": "date"}),
               "tel": ("tel", {}), "url": ("url", {})}


def choice_items(raw: Any, localize: Localize) -> list[tuple[Any, Any]]:
    """SurveyJS choices (plain values or {value, text}) as (value, label)."""
    items = []
    for choice in raw or []:
        if isinstance(choice, dict):
            value = choice.get("value")
            items.append((value, localize(choice.get("text", str(value)))))
        else:
            items.append((choice, str(choice)))
    return items


def enum_of(values: list[Any]) -> tuple[str, list[Any]]:
    """The JSON type and values of a choice list: whole numbers stay numbers, anything else becomes text."""
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer", values
    return "string", [str(v) for v in values]


class QuestionConverter:
    """Builds questions, recording in the report what each one leaves out."""

    def __init__(self, report: ImportReport, localize: Localize) -> None:
        self.report = report
        self.localize = localize

    def convert(self, question: dict[str, Any]) -> tuple[dict[str, Any], set[str]] | None:
        """The question's schema (with `x-ui`) and the keys it read; None (reported) when it cannot be one."""
        kind = str(question.get("type", ""))
        name = str(question.get("name"))
        if kind in NOT_SUPPORTED:
            self.report.gap(name, f"{kind} question", NOT_SUPPORTED[kind])
            return None
        method = getattr(self, "_" + kind, None)
        if method is None:
            self.report.gap(name, f"{kind or 'untyped'} question", "an unknown SurveyJS question type")
            return None
        built: tuple[dict[str, Any], dict[str, Any], set[str]] | None = method(question, name)
        if built is None:
            return None
        schema, ui, used = built
        label = self.localize(question.get("title", name))
        ui["label"] = label
        schema["title"] = label if isinstance(label, str) else next(iter(label.values()))
        if "description" in question:
            ui["help"] = self.localize(question["description"])
        return schema | {"x-ui": ui}, used | COMMON_KEYS

    def _text(self, q: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
        input_type = str(q.get("inputType", "text"))
        ui: dict[str, Any] = {}
        if input_type == "number":
            schema: dict[str, Any] = {"type": "number"}
            for key, keyword in (("min", "minimum"), ("max", "maximum")):
                if isinstance(q.get(key), (int, float)) and not isinstance(q.get(key), bool):
                    schema[keyword] = q[key]
                elif key in q:
                    self.report.gap(name, f"{key}={q[key]!r}", "only a number bound converts")
            ui["widget"] = "number"
        else:
            widget, extra = TEXT_INPUTS.get(input_type, ("text", {}))
            if input_type not in TEXT_INPUTS:
                self.report.gap(name, f"inputType {input_type}", "taken as plain text")
            schema = {"type": "string"} | extra
            if input_type == "date" and ("min" in q or "max" in q):
                self.report.gap(name, "min/max date", "a definition cannot bound a date")
            ui["widget"] = widget
        if isinstance(q.get("maxLength"), int) and q["maxLength"] > 0 and schema["type"] == "string":
            schema["maxLength"] = q["maxLength"]
        if "placeholder" in q:
            ui["placeholder"] = self.localize(q["placeholder"])
        return schema, ui, {"inputType", "min", "max", "maxLength"}

    def _comment(self, q: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
        schema: dict[str, Any] = {"type": "string"}
        if isinstance(q.get("maxLength"), int) and q["maxLength"] > 0:
            schema["maxLength"] = q["maxLength"]
        ui: dict[str, Any] = {"widget": "textarea"}
        if "placeholder" in q:
            ui["placeholder"] = self.localize(q["placeholder"])
        return schema, ui, {"maxLength"}

    def _choices(self, q: dict[str, Any], name: str) -> tuple[list[Any], dict[str, Any]] | None:
        items = choice_items(q.get("choices"), self.localize)
        if not items and isinstance(q.get("choicesMin"), int) and isinstance(q.get("choicesMax"), int):
            step = q.get("choicesStep", 1) if isinstance(q.get("choicesStep"), int) else 1
            items = [(v, str(v)) for v in range(q["choicesMin"], q["choicesMax"] + 1, max(step, 1))]
        for key, what in (("showOtherItem", "the 'Other' choice with its text box"), ("hasOther", "the 'Other' "
                          "choice with its text box"), ("showNoneItem", "the 'None' choice"),
                          ("hasNone", "the 'None' choice"), ("showSelectAllItem", "'Select all'"),
                          ("hasSelectAll", "'Select all'"), ("choicesByUrl", "choices loaded from a URL"),
                          ("choicesVisibleIf", "choices shown by a condition")):
            if q.get(key):
                self.report.gap(name, what, "Formloop offers the listed choices only")
        if not items:
            self.report.gap(name, f"{q.get('type')} without choices", "a choice question needs at least one choice")
            return None
        kind, values = enum_of([v for v, _ in items])
        return values, {"type": kind, "choices": {str(v): label for v, (_, label) in zip(values, items, strict=True)}}

    def _single_choice(self, q: dict[str, Any], name: str, widget: str) -> Any:
        found = self._choices(q, name)
        if found is None:
            return None
        values, info = found
        used = {"choices", "choicesMin", "choicesMax", "choicesStep", "showOtherItem", "hasOther", "showNoneItem",
                "hasNone", "choicesByUrl", "choicesVisibleIf"}
        return {"type": info["type"], "enum": values}, {"widget": widget, "choices": info["choices"]}, used

    def _radiogroup(self, q: dict[str, Any], name: str) -> Any:
        return self._single_choice(q, name, "radio")

    def _dropdown(self, q: dict[str, Any], name: str) -> Any:
        return self._single_choice(q, name, "select")

    def _checkbox(self, q: dict[str, Any], name: str) -> Any:
        found = self._choices(q, name)
        if found is None:
            return None
        values, info = found
        schema: dict[str, Any] = {"type": "array", "items": {"enum": values}, "uniqueItems": True}
        if q.get("isRequired"):
            schema["minItems"] = 1
        for key, keyword in (("minSelectedChoices", "minItems"), ("maxSelectedChoices", "maxItems")):
            if isinstance(q.get(key), int) and q[key] > 0:
                schema[keyword] = q[key]
        used = {"choices", "showOtherItem", "hasOther", "showNoneItem", "hasNone", "showSelectAllItem",
                "hasSelectAll", "choicesByUrl", "choicesVisibleIf", "minSelectedChoices", "maxSelectedChoices"}
        return schema, {"widget": "checkboxes", "choices": info["choices"]}, used

    def _boolean(self, q: dict[str, Any], name: str) -> Any:
        if "valueTrue" in q or "valueFalse" in q:
            self.report.gap(name, "valueTrue/valueFalse", "Formloop stores a yes/no answer as true or false")
        # Two radio buttons, so "no" is an answer too (a required SurveyJS boolean accepts either).
        choices = {"True": self.localize(q.get("labelTrue", "Yes")), "False": self.localize(q.get("labelFalse", "No"))}
        return ({"type": "boolean", "enum": [True, False]}, {"widget": "radio", "choices": choices},
                {"labelTrue", "labelFalse", "valueTrue", "valueFalse"})

    def _rating(self, q: dict[str, Any], name: str) -> Any:
        used = {"rateMin", "rateMax", "rateStep", "rateCount", "rateValues", "minRateDescription",
                "maxRateDescription"}
        if q.get("rateValues"):
            found = self._choices({"choices": q["rateValues"], "type": "rating"}, name)
            if found is None:
                return None
            values, info = found
            return {"type": info["type"], "enum": values}, {"widget": "radio", "choices": info["choices"]}, used
        low = q.get("rateMin", 1)
        step = q.get("rateStep", 1)
        high = q.get("rateMax", low + (q.get("rateCount", 5) - 1) * step)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)) or step != 1:
            self.report.gap(name, f"rating {low}..{high} by {step}", "a rating is whole numbers one apart")
            return None
        schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
        widget = "nps" if (low, high) == (0, 10) else "rating" if 1 <= high - low <= 10 else "number"
        if widget == "number":
            self.report.gap(name, f"rating scale {low}..{high}", "a rating has at most 11 points: asked as a number")
        ui: dict[str, Any] = {"widget": widget}
        scale = {str(value): self.localize(q[key]) for value, key in ((low, "minRateDescription"),
                                                                      (high, "maxRateDescription")) if key in q}
        if scale and widget != "number":
            ui["scale"] = scale
        return schema, ui, used

    def _matrix(self, q: dict[str, Any], name: str) -> Any:
        columns = choice_items(q.get("columns"), self.localize)
        rows = choice_items(q.get("rows"), self.localize)
        if not columns or not rows:
            self.report.gap(name, "matrix without rows or columns", "a Likert matrix needs both")
            return None
        kind, values = enum_of([v for v, _ in columns])
        row_keys = [str(v) for v, _ in rows]
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False,
                                  "properties": {key: {"type": kind, "enum": values} for key in row_keys}}
        if q.get("isAllRowRequired"):
            schema["required"] = row_keys
        elif q.get("isRequired"):
            schema["minProperties"] = 1
        ui = {"widget": "likert", "rows": {key: label for key, (_, label) in zip(row_keys, rows, strict=True)},
              "scale": {str(v): label for v, (_, label) in zip(values, columns, strict=True)}}
        return schema, ui, {"columns", "rows", "isAllRowRequired"}
