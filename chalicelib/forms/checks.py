"""The checks a form definition must pass before Formloop serves it (at load, in `make check-forms`, and at
packaging): JSON Schema itself, a meta-schema for the `x-` parts, safe regular expressions, references
that stay inside the definition, and what each widget needs.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from chalicelib.core.config import CAPTCHA_PROVIDERS
from chalicelib.core.errors import DefinitionError
from chalicelib.forms.definitions import FEEDBACK_KINDS, format_checker, parse_instant
from chalicelib.forms.patterns import regex_problem
from chalicelib.webhooks.targets import WEBHOOKS_SCHEMA, check_webhooks

LOCALE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
WIDGETS = (
    "text", "textarea", "email", "number", "date", "tel", "url", "radio", "select",
    "checkboxes", "rating", "nps", "likert", "consent", "hidden",
)

_LABEL = {
    "oneOf": [
        {"type": "string"},
        {"type": "object", "propertyNames": {"pattern": LOCALE},
         "additionalProperties": {"type": "string"}, "minProperties": 1},
    ]
}
_HONEYPOT_NAME = r"^[^\x00-\x1f\x7f]{1,100}$"
_EMAILS = {"type": "array", "items": {"type": "string", "format": "email"}, "uniqueItems": True}

# The `x-` parts of a definition; the JSON Schema meta-schema ignores them, this does not.
X_FORM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["contact", "survey"]},
        "locales": {"type": "array", "items": {"type": "string", "pattern": LOCALE},
                    "minItems": 1, "uniqueItems": True},
        "title": _LABEL,
        "description": _LABEL,
        "submitLabel": _LABEL,
        "thanks": _LABEL,
        "respondentEmail": {"type": "string"},
        "feedbackKind": {"enum": list(FEEDBACK_KINDS)},
        "feedbackKindField": {"type": "string"},
        "acknowledgement": {
            "type": "object", "additionalProperties": False,
            "properties": {"template": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                           "subject": _LABEL, "intro": _LABEL,
                           "perAddressPerDay": {"type": "integer", "minimum": 0},
                           "perFormPerHour": {"type": "integer", "minimum": 0},
                           "echo": {"type": "boolean"}},
        },
        "notify": {
            "type": "object", "additionalProperties": False,
            "properties": {"to": _EMAILS,
                           "byKind": {"type": "object", "propertyNames": {"enum": list(FEEDBACK_KINDS)},
                                      "additionalProperties": _EMAILS},
                           "subject": _LABEL,
                           "language": {"type": "string", "pattern": LOCALE}},
        },
        "allowedOrigins": {"type": "array", "uniqueItems": True,
                           "items": {"type": "string", "pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"}},
        "redirect": {"type": "string", "pattern": r"^(https?://|/)"},
        "spam": {
            "type": "object", "additionalProperties": False,
            # One name or several (a page may carry Netlify's `bot-field` and an off-screen `website` input).
            "properties": {"honeypot": {"type": ["string", "array"], "pattern": _HONEYPOT_NAME,
                                        "minItems": 1, "uniqueItems": True,
                                        "items": {"type": "string", "pattern": _HONEYPOT_NAME}},
                           "minSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
                           "perIpPerHour": {"type": "integer", "minimum": 1}},
        },
        "gift": {"type": "object", "additionalProperties": False, "required": ["campaign"],
                 "properties": {"campaign": {"type": "string", "pattern": "^[a-z0-9-]+$"}}},
        "retentionDays": {"type": "integer", "minimum": 1, "maximum": 3650},
        # Checked below with a message that says what is missing (a time zone), not by the format checker.
        "opens": {"type": "string"},
        "closes": {"type": "string"},
        "maxResponses": {"type": "integer", "minimum": 1},
        "onePerEmail": {"type": "boolean"},
        # Where events go (docs/webhooks.md); each target's secret comes from the settings, never from here.
        "webhooks": WEBHOOKS_SCHEMA,
        # Which CAPTCHA guards the form; its secret comes from the settings, never from here (docs/captcha.md).
        "captcha": {
            "type": "object", "additionalProperties": False, "required": ["provider", "siteKey"],
            "properties": {"provider": {"enum": list(CAPTCHA_PROVIDERS)},
                           "siteKey": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,100}$"},
                           "action": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
                           "minScore": {"type": "number", "minimum": 0, "maximum": 1}},
        },
        # Per kind of feedback, how long the client may wait for a first reply; praise: the thank-you's delay and
        # an optional next-product link (chalicelib/cases/reactions.py).
        "reactions": {"type": "object", "propertyNames": {"enum": list(FEEDBACK_KINDS)},
                      "additionalProperties": {"type": "object", "additionalProperties": False,
                                               "properties": {"dueHours": {"type": ["integer", "null"],
                                                                           "minimum": 1, "maximum": 8760},
                                                              "delayHours": {"type": "integer", "minimum": 0,
                                                                             "maximum": 720},
                                                              "nextProduct": {
                                                                  "type": "object", "additionalProperties": False,
                                                                  "required": ["url"],
                                                                  "properties": {
                                                                      "url": {"type": "string",
                                                                              "pattern": "^https://", "maxLength": 500},
                                                                      "title": _LABEL}}}}},
    },
}

X_UI_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "widget": {"enum": list(WIDGETS)},
        "label": _LABEL,
        "help": _LABEL,
        "placeholder": _LABEL,
        "choices": {"type": "object", "additionalProperties": _LABEL},
        "rows": {"type": "object", "additionalProperties": _LABEL},
        "scale": {"type": "object", "additionalProperties": _LABEL},
        "visibleIf": {"type": "object"},
        "singleLine": {"type": "boolean"},
    },
}


def _json_path(path: Iterator[Any] | Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _walk_patterns(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield path + (key,), value
            elif key == "patternProperties" and isinstance(value, dict):
                for regex in value:
                    yield path + (key, regex), regex
            yield from _walk_patterns(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_patterns(value, path + (index,))


def _pointer_target(document: Any, fragment: str) -> bool:
    node = document
    for part in fragment.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _uses_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return any(key in ("$ref", "$dynamicRef") or _uses_ref(value) for key, value in node.items())
    return isinstance(node, list) and any(_uses_ref(item) for item in node)


def _request_time_failures(node: Any, document: dict[str, Any],
                           path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Keywords that would only fail while checking a visitor's answers, found at load time instead."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                if not value.startswith("#"):
                    yield path + (key,), f"{value!r} refers to another document; a definition must be self-contained"
                elif value != "#" and not (value.startswith("#/") and _pointer_target(document, value[1:])):
                    yield path + (key,), f"{value!r} points to nothing in this definition"
            elif key == "format" and value == "regex":
                yield path + (key,), "format 'regex' would compile visitors' text as a regular expression"
            elif key == "visibleIf" and _uses_ref(value):
                # A condition is checked alone and inside the form's schema: a $ref would mean two things.
                yield path + (key,), "a visibleIf condition cannot use $ref"
            yield from _request_time_failures(value, document, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _request_time_failures(value, document, path + (index,))


def check_document(schema: Any, source: str) -> None:
    """The checks of a whole definition: JSON Schema itself, patterns, references, the `x-form` settings."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict):
        raise DefinitionError(source, "$", "a definition must be a JSON object")
    try:
        Draft202012Validator.check_schema(schema, format_checker=format_checker())
    except SchemaError as exc:
        raise DefinitionError(source, _json_path(exc.absolute_path), exc.message) from None
    for path, pattern in _walk_patterns(schema):
        problem = regex_problem(pattern)
        if problem:
            raise DefinitionError(source, _json_path(path), f"pattern {pattern!r}: {problem}")
    for path, problem in _request_time_failures(schema, schema):
        raise DefinitionError(source, _json_path(path), problem)
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise DefinitionError(source, "$", 'a form must be {"type": "object"} with "properties"')
    settings = schema.get("x-form")
    if settings is None:
        raise DefinitionError(source, "$", 'missing "x-form" settings (at least {"kind": "contact"})')
    _check_captcha(settings.get("captcha") if isinstance(settings, dict) else None, source)
    check_webhooks(settings.get("webhooks") if isinstance(settings, dict) else None, source)
    _meta_check(X_FORM_SCHEMA, settings, source, ("x-form",))
    for key in ("respondentEmail", "feedbackKindField"):
        if key in settings and settings[key] not in schema["properties"]:
            raise DefinitionError(source, _json_path(("x-form", key)),
                                  f"{settings[key]!r} is not one of the form's properties")
    _check_survey_settings(settings, source)
    _check_honeypot(settings, schema["properties"], source)


def _check_honeypot(settings: Mapping[str, Any], properties: Mapping[str, Any], source: str) -> None:
    """Any names may be the honeypots (`bot-field`, `botcheck`), but none of them can also be a question."""
    spam = settings.get("spam")
    names = spam.get("honeypot") if isinstance(spam, dict) else None
    for index, name in enumerate([names] if isinstance(names, str) else names or []):
        if isinstance(name, str) and name in properties:
            path = ("x-form", "spam", "honeypot") + (() if isinstance(names, str) else (index,))
            raise DefinitionError(source, _json_path(path),
                                  f"{name!r} is also a question of the form; a filled honeypot marks a post as spam, "
                                  "so name a field no person answers")


def check_question(name: str, prop: Any, source: str) -> None:
    """The checks of one question: its name, its `x-ui` presentation and its `visibleIf` condition."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if name.startswith("_"):
        raise DefinitionError(source, _json_path(("properties", name)),
                              "field names starting with '_' are reserved for control fields")
    if not isinstance(prop, dict):
        raise DefinitionError(source, _json_path(("properties", name)), "a question must be an object")
    ui = prop.get("x-ui", {})
    _meta_check(X_UI_SCHEMA, ui, source, ("properties", name, "x-ui"))
    _check_widget(prop, ui.get("widget"), source, ("properties", name))
    condition = ui.get("visibleIf")
    if condition is not None:
        try:
            Draft202012Validator.check_schema(condition)
        except SchemaError as exc:
            raise DefinitionError(source, _json_path(("properties", name, "x-ui", "visibleIf",
                                                      *exc.absolute_path)), exc.message) from None


def _check_widget(prop: Mapping[str, Any], widget: str | None, source: str, path: tuple[Any, ...]) -> None:
    """A widget that offers choices needs a schema that lists them (the page is built from them)."""
    problem = None
    if widget == "likert":
        rows = prop.get("properties")
        enums = [row.get("enum") for row in rows.values() if isinstance(row, dict)] if isinstance(rows, dict) else []
        if prop.get("type") != "object" or not enums or not all(enums) or any(e != enums[0] for e in enums):
            problem = 'a likert question is {"type": "object"} with one property per row, each the same "enum"'
    elif widget == "checkboxes":
        items = prop.get("items")
        if prop.get("type") != "array" or not isinstance(items, dict) or not items.get("enum"):
            problem = 'a checkboxes question is {"type": "array", "items": {"enum": [...]}}'
    elif widget in ("radio", "select") and not prop.get("enum"):
        problem = f'a {widget} question needs an "enum" of its choices'
    elif widget in ("rating", "nps"):
        low, high = prop.get("minimum", 0 if widget == "nps" else 1), prop.get("maximum", 10 if widget == "nps" else 5)
        if prop.get("type") != "integer" or not isinstance(low, int) or not isinstance(high, int) \
                or not 1 <= high - low <= 10:
            problem = f'a {widget} question is {{"type": "integer"}} with "minimum" and "maximum" 1 to 10 apart'
    if problem:
        raise DefinitionError(source, _json_path(path), problem)


def _check_survey_settings(settings: Mapping[str, Any], source: str) -> None:
    for key in ("opens", "closes"):
        if key in settings and parse_instant(settings[key]) is None:
            raise DefinitionError(source, _json_path(("x-form", key)),
                                  "must be a date-time with a time zone, e.g. 2026-05-01T09:00:00Z")
    opens, closes = parse_instant(settings.get("opens")), parse_instant(settings.get("closes"))
    if opens and closes and closes <= opens:
        raise DefinitionError(source, "$.x-form.closes", "closes must be later than opens")
    if settings.get("onePerEmail") and "respondentEmail" not in settings:
        raise DefinitionError(source, "$.x-form.onePerEmail",
                              "onePerEmail needs respondentEmail: the question whose answer is the address")


def _check_captcha(captcha: Mapping[str, Any] | None, source: str) -> None:
    """What each provider can check: an action (Turnstile, reCAPTCHA v3), a score (reCAPTCHA v3 only)."""
    if not isinstance(captcha, dict):
        return  # the meta-schema names what is wrong
    for key in captcha:
        if "secret" in str(key).lower():
            raise DefinitionError(source, _json_path(("x-form", "captcha", key)),
                                  "a CAPTCHA secret key never goes in a definition (anyone can read the form's "
                                  "schema): set it in the deployment's settings, see docs/captcha.md")
    provider = captcha.get("provider")
    if provider not in CAPTCHA_PROVIDERS:
        return  # the meta-schema lists the providers
    if "minScore" in captcha and provider != "recaptcha-v3":
        raise DefinitionError(source, "$.x-form.captcha.minScore",
                              f"only reCAPTCHA v3 scores a visitor; {provider} has no minScore")
    if "action" in captcha and provider not in ("turnstile", "recaptcha-v3"):
        raise DefinitionError(source, "$.x-form.captcha.action",
                              f"only Turnstile and reCAPTCHA v3 report an action; {provider} has none")


def _meta_check(meta: dict[str, Any], value: Any, source: str, prefix: tuple[Any, ...]) -> None:
    from jsonschema import Draft202012Validator

    error = next(iter(sorted(Draft202012Validator(meta, format_checker=format_checker()).iter_errors(value),
                             key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise DefinitionError(source, _json_path(prefix + tuple(error.absolute_path)), error.message)
