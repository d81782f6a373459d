"""One group of HTML controls -> one Formloop question (JSON Schema + `x-ui`), with the reason for its type."""
from __future__ import annotations

from typing import Any

from chalicelib.forms.patterns import regex_problem
from formloop_cli.html_fields import FieldGroup, Labels
from formloop_cli.html_page import Element
from formloop_cli.importing import ImportReport

# What Formloop reads as yes and no for a boolean (chalicelib/forms/answers.py).
TRUTHY = frozenset({"on", "true", "1", "yes"})
FALSY = frozenset({"off", "false", "0", "no"})
TEXT_WIDGETS = {"text": "text", "search": "text", "password": "text", "email": "email", "tel": "tel", "url": "url",
                "textarea": "textarea", "hidden": "hidden", "time": "text", "datetime-local": "text",
                "month": "text", "week": "text", "color": "text"}
Question = tuple[dict[str, Any], bool, str, str]  # schema, required, type shown, why


def question_for(group: FieldGroup, labels: Labels, report: ImportReport) -> Question | None:
    """The question for a group of controls, or None (reported) when it cannot be one."""
    kinds = set(group.kinds())
    name = group.name
    if "file" in kinds:
        report.gap(name, "file upload", "Formloop takes text answers only; a file part is refused (415), so remove "
                                        "the file input (an empty one is refused too)")
        return None
    if kinds == {"radio"}:
        return _choice(group, labels, "radio")
    if kinds <= {"checkbox", "hidden"} and "checkbox" in kinds:
        return _checkboxes(group, labels, report)
    if kinds == {"select"}:
        return _select(group, labels, report)
    if len(group.controls) > 1 and len(kinds) > 1:
        report.gap(name, f"controls of kinds {sorted(kinds)} under one name", "no single question type fits them")
        return None
    control = group.controls[-1]
    kind = group.kinds()[-1]
    label, source = labels.of(control)
    ui: dict[str, Any] = {}
    if kind in ("number", "range"):
        schema, why = _number(control, name, report)
        ui["widget"] = "number"
    elif kind == "date":
        schema, why = {"type": "string", "format": "date"}, "type=date"
        ui["widget"] = "date"
        for bound in ("min", "max"):
            if control.get(bound):
                report.gap(name, f"{bound}={control.get(bound)}", "a definition cannot bound a date")
    else:
        widget = TEXT_WIDGETS.get(kind)
        if widget is None:
            report.gap(name, f"input type={kind}", "taken as plain text")
            widget = "text"
        schema, why = _text(control, kind, name, report), f"<{control.tag}>" if kind == "textarea" else f"type={kind}"
        ui["widget"] = widget
        if kind == "password":
            report.gap(name, "password input", "stored as plain text like any answer")
    _label_ui(ui, schema, control, label, source)
    return schema | {"x-ui": ui}, group.required and kind != "hidden", str(ui["widget"]), f"{why}; label: {source}"


def _label_ui(ui: dict[str, Any], schema: dict[str, Any], control: Element, label: str | None, source: str) -> None:
    if label:
        ui["label"] = label
        schema["title"] = label
    placeholder = control.get("placeholder")
    if placeholder and source != "placeholder":
        ui["placeholder"] = placeholder


def _text(control: Element, kind: str, name: str, report: ImportReport) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if kind == "email":
        if control.has("multiple"):
            report.gap(name, "email multiple", "several addresses are kept as text, not checked as addresses")
        else:
            schema["format"] = "email"
    for attribute, keyword in (("minlength", "minLength"), ("maxlength", "maxLength")):
        value = (control.get(attribute) or "").strip()
        if value.isdigit():
            schema[keyword] = int(value)
    pattern = control.get("pattern")
    if pattern and kind != "textarea":
        anchored = f"^(?:{pattern})$"  # HTML anchors a pattern to the whole value
        problem = regex_problem(anchored)
        if problem:
            report.gap(name, f"pattern {pattern!r}", problem)
        else:
            schema["pattern"] = anchored
    return schema


def _number(control: Element, name: str, report: ImportReport) -> tuple[dict[str, Any], str]:
    step = (control.get("step") or "1").strip().lower()
    bounds = {k: _parse_number(control.get(a)) for k, a in (("minimum", "min"), ("maximum", "max"))}
    whole = step != "any" and "." not in step and all(b is None or float(b).is_integer() for b in bounds.values())
    schema: dict[str, Any] = {"type": "integer" if whole else "number"}
    schema |= {k: v for k, v in bounds.items() if v is not None}
    for attribute in ("min", "max"):
        if control.get(attribute) and _parse_number(control.get(attribute)) is None:
            report.gap(name, f"{attribute}={control.get(attribute)}", "not a number")
    why = f"type={control.get('type')}" + ("" if whole else f", step={step}")
    return schema, why


def _parse_number(text: str | None) -> int | float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def _option_label(control: Element, labels: Labels) -> str:
    label, _ = labels.of(control)
    return label or control.get("value") or "on"


def _choice(group: FieldGroup, labels: Labels, widget: str) -> Question:
    values = _unique([c.get("value") or "on" for c in group.controls])
    choices = {v: _option_label(c, labels) for v, c in zip(values, group.controls, strict=False)}
    legend = labels.legend(group.controls)
    ui: dict[str, Any] = {"widget": widget, "choices": choices}
    schema: dict[str, Any] = {"type": "string", "enum": values}
    if legend:
        ui["label"] = schema["title"] = legend
    return (schema | {"x-ui": ui}, group.required, widget,
            f"{len(values)} radio buttons; label: {'<legend>' if legend else 'no label'}")


def _checkboxes(group: FieldGroup, labels: Labels, report: ImportReport) -> Question:
    boxes = group.of_kind("checkbox")
    hidden = group.of_kind("hidden")
    name = group.name
    if len(boxes) == 1 and not group.posted_name.endswith("[]"):
        box = boxes[0]
        checked_value = box.get("value") or "on"
        unchecked = hidden[0].get("value") or "" if hidden else None
        label, source = labels.of(box)
        pair = "hidden+checkbox pair" if hidden else "one checkbox"
        if checked_value.lower() in TRUTHY and (unchecked is None or unchecked.lower() in FALSY | {""}):
            schema: dict[str, Any] = {"type": "boolean"}
            if group.required:
                schema["const"] = True
            ui: dict[str, Any] = {"widget": "consent"}
            if label:
                ui["label"] = schema["title"] = label
            return schema | {"x-ui": ui}, group.required, "consent", f"{pair} posting yes/no; label: {source}"
        values = _unique(([unchecked] if unchecked else []) + [checked_value])
        if unchecked:
            schema = {"type": "string", "enum": values}
            ui = {"widget": "radio", "choices": {unchecked: unchecked, checked_value: label or checked_value}}
            return (schema | {"x-ui": ui}, group.required, "radio",
                    f"{pair} posting {unchecked!r} or {checked_value!r}; label: {source}")
    values = _unique([b.get("value") or "on" for b in boxes])
    choices = {v: _option_label(b, labels) for v, b in zip(values, boxes, strict=False)}
    schema = {"type": "array", "items": {"enum": values}, "uniqueItems": True}
    if group.required:
        schema["minItems"] = 1
    if hidden:
        report.gap(name, "hidden field beside a checkbox group", "its value is not one of the choices and is dropped")
    legend = labels.legend(boxes) or (choices[values[0]] if len(values) == 1 else None)
    ui = {"widget": "checkboxes", "choices": choices}
    if legend:
        ui["label"] = schema["title"] = legend
    why = f"{len(values)} checkbox{'es' if len(values) > 1 else ''} under {group.posted_name!r}"
    return schema | {"x-ui": ui}, group.required, "checkboxes", why


def _select(group: FieldGroup, labels: Labels, report: ImportReport) -> Question | None:
    select = group.controls[-1]
    options: dict[str, str] = {}
    skipped = []
    for option in (e for e in select.iter() if e.tag == "option"):
        text = " ".join(option.raw_text().split())
        value = option.get("value")
        value = text if value is None else value
        if value == "":
            skipped.append(text)
            continue
        options.setdefault(value, text or value)
    if not options:
        report.gap(group.name, "<select> without options", "a choice question needs at least one choice")
        return None
    label, source = labels.of(select)
    why = f"<select> with {len(options)} options" + (f" (placeholder {skipped[0]!r} left out)" if skipped else "")
    if select.has("multiple"):
        schema: dict[str, Any] = {"type": "array", "items": {"enum": list(options)}, "uniqueItems": True}
        if group.required:
            schema["minItems"] = 1
        ui: dict[str, Any] = {"widget": "checkboxes", "choices": options}
        report.notes.append(f"{group.name}: a <select multiple> is shown as checkboxes on Formloop's own page")
        widget, why = "checkboxes", why + ", multiple"
    else:
        schema = {"type": "string", "enum": list(options)}
        ui = {"widget": "select", "choices": options}
        widget = "select"
    if label:
        ui["label"] = schema["title"] = label
    return schema | {"x-ui": ui}, group.required, widget, f"{why}; label: {source}"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
