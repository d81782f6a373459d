"""HTML pages rendered from form definitions: the form itself, its thanks page, error pages."""
from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.core.errors import N_, FieldError, FormloopError
from chalicelib.forms.answers import TOKEN_FIELDS
from chalicelib.forms.definitions import FormDefinition, Question, localized
from chalicelib.i18n.catalogue import base, template_globals, translate, translate_error

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Formloop's wording used from Python, by key; the templates mark theirs with `{% trans %}` and `_()`. Both come
# from the catalogues in chalicelib/locales (docs/i18n.md).
WORDING: dict[str, str] = {
    "summary": N_("Please fix the following"), "required": N_("required"), "choose": N_("Choose…"),
    "submit": N_("Send"), "honeypot": N_("Leave this empty"), "thanks_title": N_("Thank you"),
    "thanks": N_("Your answers were received."), "back": N_("Back to the form"),
    "choose_between": N_("Choose {low} to {high}."), "choose_up_to": N_("Choose up to {high}."),
    "choose_at_least": N_("Choose at least {low}."),
    "captcha": N_("Please confirm that you are a person ({provider})."),
    "captcha_invisible": N_("This form is protected by {provider}: nothing to tick, it checks when you send."),
    "captcha_noscript": N_("This form's human check needs JavaScript; please turn it on to send the form."),
}


def texts(language: str) -> dict[str, str]:
    """Interface wording in a language, from its catalogue (English where a language has none)."""
    return {key: translate(language, message) for key, message in WORDING.items()}


@lru_cache(maxsize=1)
def _environment() -> Any:
    # Imported on first page render only: a plain form post never pays for Jinja2.
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    # jinja2.ext.i18n: `{% trans %}` and `_()`; the callables come per render, bound to the page's language.
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])


def render(template: str, **context: Any) -> str:
    """Render one of chalicelib/pages/templates with autoescaping, its wording in the context's `language`."""
    wording = template_globals(str(context.get("language") or "en"))
    return str(_environment().get_template(template).render(**{**wording, **context}))


def widget_of(question: Question) -> str:
    """The widget a question is shown with: its `x-ui.widget`, else one its schema implies."""
    schema = question.schema
    widget = question.ui.get("widget")
    if widget:
        return str(widget)
    if schema.get("type") == "array":
        return "checkboxes"
    if schema.get("type") == "object":
        return "likert"
    if "enum" in schema:
        return "radio" if len(schema["enum"]) <= 5 else "select"
    if schema.get("type") == "boolean":
        return "consent"
    if schema.get("type") in ("integer", "number"):
        return "number"
    fmt = schema.get("format")
    if fmt in ("email", "date"):
        return str(fmt)
    if schema.get("maxLength", 0) > 300:
        return "textarea"
    return "text"


def choice_values(question: Question) -> list[Any]:
    """The values a choice question offers, in order (an NPS or rating scale, an enum, a matrix's scale)."""
    schema = question.schema
    widget = widget_of(question)
    if widget in ("nps", "rating"):
        low = int(schema.get("minimum", 0 if widget == "nps" else 1))
        high = int(schema.get("maximum", 10 if widget == "nps" else 5))
        return list(range(low, high + 1))
    if widget == "likert":
        rows = list(schema.get("properties", {}).values())
        return list(rows[0].get("enum", [])) if rows else []
    if schema.get("type") == "array":
        items = schema.get("items", {})
        return list(items.get("enum", [])) if isinstance(items, dict) else []
    return list(schema.get("enum", []))


def matrix_rows(question: Question, language: str) -> list[tuple[str, str]]:
    """A Likert matrix's rows as (key, label)."""
    labels = question.ui.get("rows", {})
    rows: Mapping[str, Any] = question.schema.get("properties", {})
    return [(key, localized(labels.get(key), language, str(row.get("title", key)) if isinstance(row, dict) else key))
            for key, row in rows.items()]


def choice_label(question: Question, value: Any, language: str) -> str:
    """How one choice is labelled: `x-ui.choices` (or a matrix's `x-ui.scale`), else the value itself."""
    labels = question.ui.get("scale" if widget_of(question) == "likert" else "choices", {})
    return localized(labels.get(str(value)), language, str(value))


def _choices(question: Question, widget: str, language: str, selected: list[str]) -> list[dict[str, Any]]:
    captions = question.ui.get("choices", {})
    views = []
    for value in choice_values(question):
        view = {"value": str(value), "label": choice_label(question, value, language), "caption": None,
                "checked": str(value) in selected}
        if widget in ("nps", "rating"):
            # Scales show the number; a per-value label (e.g. "Excellent") is shown under it.
            view["label"] = str(value)
            view["caption"] = localized(captions.get(str(value)), language) or None
        views.append(view)
    return views


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return ["on" if v is True else str(v) for v in value]
    if value is True:
        return ["on"]
    return [str(value)]


def _row_value(values: Mapping[str, Any], name: str, row: str) -> list[str]:
    nested = values.get(name)
    if isinstance(nested, Mapping):
        return _as_strings(nested.get(row))
    for key in (f"{name}.{row}", f"{name}[{row}]"):
        if key in values:
            return _as_strings(values[key])
    return []


def _hint(schema: Mapping[str, Any], language: str) -> str | None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    t = texts(language)
    if low and high:
        return t["choose_between"].format(low=low, high=high)
    if high:
        return t["choose_up_to"].format(high=high)
    if low and low > 1:
        return t["choose_at_least"].format(low=low)
    return None


def question_view(question: Question, language: str, value: Any, error: str | None,
                  values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the form template needs to show one question."""
    widget = widget_of(question)
    schema, ui = question.schema, question.ui
    selected = _as_strings(value)
    scale = ui.get("scale", {})
    view: dict[str, Any] = {
        "name": question.name, "id": f"q-{question.name}", "input_id": f"f-{question.name}",
        "label": question.label(language), "help": localized(ui.get("help"), language) or None,
        "hint": _hint(schema, language) if widget == "checkboxes" else None,
        "placeholder": localized(ui.get("placeholder"), language) or None,
        "required": question.required, "widget": widget, "error": error,
        "group": widget in ("radio", "checkboxes", "nps", "rating", "likert"),
        "value": selected[-1] if selected else "",
        "max_length": schema.get("maxLength"), "minimum": schema.get("minimum"), "maximum": schema.get("maximum"),
        "step": "any" if schema.get("type") == "number" else None,
        "input_type": {"email": "email", "number": "number", "date": "date", "tel": "tel", "url": "url",
                       "hidden": "hidden"}.get(widget, "text"),
        "autocomplete": {"email": "email", "tel": "tel"}.get(widget),
        "visible_if": json.dumps(question.visible_if) if question.visible_if else None,
        "choices": _choices(question, widget, language, selected),
        "scale_ends": None, "rows": [],
    }
    if widget in ("nps", "rating") and scale:
        first, last = view["choices"][0]["value"], view["choices"][-1]["value"]
        view["scale_ends"] = (localized(scale.get(first), language), localized(scale.get(last), language))
    if widget == "likert":
        view["rows"] = [{"key": key, "label": label, "checked": _row_value(values or {}, question.name, key)}
                        for key, label in matrix_rows(question, language)]
    described = [f"{view['id']}-{part}" for part, present in
                 (("help", view["help"]), ("hint", view["hint"]), ("scale", view["scale_ends"]),
                  ("error", error)) if present]
    view["described"] = " ".join(described)
    if view["group"]:
        view["input_id"] = f"{view['id']}-1" if widget != "likert" else f"{view['id']}-{view['rows'][0]['key']}-1"
    return view


# Where the post came from, passed on by the form page (chalicelib/intake/source.py).
SOURCE_FIELDS = ("_source", "_utm_source", "_utm_medium", "_utm_campaign", "_utm_term", "_utm_content")


def render_form(definition: FormDefinition, language: str, *, action: str,
                values: Mapping[str, Any] | None = None, errors: list[FieldError] | None = None,
                issued: str | None = None) -> str:
    """The accessible HTML page of a form; after a 422, with the visitor's input and the errors.

    `issued` is the signed time the page was served (`_ts`); a re-rendered page keeps the posted one.
    """
    values = values or {}
    posted = values.get("_ts")
    issued = issued or (str(posted[-1] if isinstance(posted, list) and posted else posted or "") or None)
    next_url = values.get("_next")  # kept, so the visitor still lands where the site said after fixing
    errors = errors or []
    by_field: dict[str, str] = {}
    others: list[str] = []
    names = {q.name for q in definition.questions}
    captcha = _captcha_widget(definition)
    captcha_error = next((translate_error(e, language) for e in errors if captcha and e.field in TOKEN_FIELDS), None)
    for error in errors:
        top = error.field.split("/")[0]
        if captcha and error.field in TOKEN_FIELDS:
            continue  # shown beside the widget
        if top in names:
            by_field.setdefault(top, translate_error(error, language))
        else:
            # Named and worded in the page's language: no English glue around a translated message.
            others.append(translate(language, "{label}: {message}", label=error.field or translate(language, "form"),
                                  message=translate_error(error, language)))
    t = texts(language)
    questions = [question_view(q, language, values.get(q.name), by_field.get(q.name), values)
                 for q in definition.questions]
    settings = definition.settings
    return render(
        "form.html", language=language, page_title=definition.title(language), form_title=definition.title(language),
        description=localized(settings.get("description"), language) or None,
        questions=questions, errors=bool(errors), other_errors=others, action=action,
        honeypot=definition.honeypot, idempotency_key=secrets.token_urlsafe(16), issued=issued, t=t,
        submit_label=localized(settings.get("submitLabel"), language, t["submit"]),
        has_conditions=any(q.visible_if for q in definition.questions),
        captcha=captcha, captcha_error=captcha_error, next_url=next_url if isinstance(next_url, str) else None,
        source={k: v for k, v in values.items() if k in SOURCE_FIELDS and isinstance(v, str)},
    )


def _captcha_widget(definition: FormDefinition) -> dict[str, Any] | None:
    """The CAPTCHA widget's view, for a form that has one (the module loads only then)."""
    if not definition.settings.get("captcha"):
        return None
    from chalicelib.intake.captcha import widget
    return widget(definition)


def render_thanks(definition: FormDefinition, language: str, back_url: str | None = None) -> str:
    """The default thank-you page, linking back to the posting page when one is given."""
    t = texts(language)
    return render("message.html", language=language, page_title=t["thanks_title"], heading=t["thanks_title"],
                  message=localized(definition.settings.get("thanks"), language, t["thanks"]),
                  back_url=back_url, back_label=t["back"])


def render_error(error: FormloopError, language: str = "en") -> str:
    """An error page for people: its title and message in `language`.

    `message` is English (it is also the problem document's detail); another language gets the error's own
    `PAGE_TEXT`, so a page never mixes languages.
    """
    heading = translate(language, error.TITLE)
    message = error.message if base(language) == "en" else translate(language, error.PAGE_TEXT)
    return render("message.html", language=language, page_title=heading, heading=heading, message=message,
                  back_url=None, back_label="")
