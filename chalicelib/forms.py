"""Form definitions: one JSON Schema 2020-12 document per form, settings in `x-` annotations.

Definitions are checked when loaded (and by `make check-forms` and the test suite): the
schema itself, a meta-schema for the `x-` parts, and every regular expression.
"""
from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import SchemaError

from .errors import DefinitionError
from .patterns import bounded_pattern, regex_problem

FORM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
FEEDBACK_KINDS = ("complaint", "idea", "question", "praise", "referral")
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
                           "perAddressPerDay": {"type": "integer", "minimum": 0}},
        },
        "notify": {
            "type": "object", "additionalProperties": False,
            "properties": {"to": _EMAILS,
                           "byKind": {"type": "object", "propertyNames": {"enum": list(FEEDBACK_KINDS)},
                                      "additionalProperties": _EMAILS},
                           "subject": _LABEL},
        },
        "allowedOrigins": {"type": "array", "uniqueItems": True,
                           "items": {"type": "string", "pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"}},
        "redirect": {"type": "string", "pattern": r"^(https?://|/)"},
        "spam": {
            "type": "object", "additionalProperties": False,
            "properties": {"honeypot": {"type": "string", "pattern": "^_[A-Za-z0-9_-]+$"},
                           "minSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
                           "perIpPerHour": {"type": "integer", "minimum": 1}},
        },
        "gift": {"type": "object", "additionalProperties": False, "required": ["campaign"],
                 "properties": {"campaign": {"type": "string", "pattern": "^[a-z0-9-]+$"}}},
        "retentionDays": {"type": "integer", "minimum": 1, "maximum": 3650},
        "opens": {"type": "string", "format": "date-time"},
        "closes": {"type": "string", "format": "date-time"},
        "maxResponses": {"type": "integer", "minimum": 1},
        "onePerEmail": {"type": "boolean"},
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
    },
}

_FORMAT_CHECKER = FormatChecker()
# Draft 2020-12, except that `pattern` never runs on text longer than the question allows.
FormValidator = validators.extend(Draft202012Validator, {"pattern": bounded_pattern})
_LABEL_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f\"(),:;<>\[\\\]]{1,64}@" + _LABEL_PART + r"(?:\." + _LABEL_PART + r")+$")


@_FORMAT_CHECKER.checks("email")
def _is_email(value: object) -> bool:
    """A practical address check: one @, a dotted domain, no spaces or control characters."""
    if not isinstance(value, str):
        return True
    return len(value) <= 254 and bool(_EMAIL.match(value))


def format_checker() -> FormatChecker:
    """The format checker every form validator uses."""
    return _FORMAT_CHECKER


def localized(label: Any, language: str | None, fallback: str = "") -> str:
    """Pick a label's text in a language, falling back to English, then to any language."""
    if label is None:
        return fallback
    if isinstance(label, str):
        return label
    if isinstance(label, Mapping):
        for candidate in (language, (language or "").split("-")[0], "en"):
            if candidate and candidate in label:
                return str(label[candidate])
        return str(next(iter(label.values()), fallback))
    return fallback


@dataclass(frozen=True)
class Question:
    """One property of a form, with what a page needs to show it."""

    name: str
    schema: Mapping[str, Any]
    required: bool

    @property
    def ui(self) -> Mapping[str, Any]:
        return self.schema.get("x-ui", {})

    @property
    def visible_if(self) -> Mapping[str, Any] | None:
        return self.ui.get("visibleIf")

    def label(self, language: str | None) -> str:
        return localized(self.ui.get("label"), language, self.schema.get("title", self.name))

    @property
    def is_array(self) -> bool:
        return self.schema.get("type") == "array"


@dataclass
class FormDefinition:
    """A loaded, checked form definition."""

    id: str
    source: str
    schema: dict[str, Any]
    settings: dict[str, Any]
    questions: list[Question]
    validator: Draft202012Validator
    validation_schema: dict[str, Any] = field(default_factory=dict)
    visibility: dict[str, Draft202012Validator] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.settings["kind"])

    @property
    def locales(self) -> list[str]:
        return list(self.settings.get("locales") or ["en"])

    @property
    def honeypot(self) -> str:
        return str(self.settings.get("spam", {}).get("honeypot", "_gotcha"))

    @property
    def allowed_origins(self) -> list[str]:
        return list(self.settings.get("allowedOrigins", []))

    @property
    def respondent_email_field(self) -> str | None:
        return self.settings.get("respondentEmail")

    def title(self, language: str | None) -> str:
        return localized(self.settings.get("title"), language, self.schema.get("title", self.id))

    def question(self, name: str) -> Question | None:
        for question in self.questions:
            if question.name == name:
                return question
        return None

    def visible_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Drop answers to questions whose `visibleIf` the other answers do not satisfy."""
        if not self.visibility:
            return answers
        return {name: value for name, value in answers.items()
                if name not in self.visibility or self.visibility[name].is_valid(answers)}

    def feedback_kind(self, answers: Mapping[str, Any]) -> str | None:
        """The kind of feedback a submission is (complaint, idea, question, praise, referral)."""
        kind_field = self.settings.get("feedbackKindField")
        if kind_field and answers.get(kind_field) in FEEDBACK_KINDS:
            return str(answers[kind_field])
        fixed = self.settings.get("feedbackKind")
        return str(fixed) if fixed else None

    def public_schema(self) -> dict[str, Any]:
        """The schema a site may see: presentation kept, internal settings (addresses, spam rules) removed."""
        # The compiled schema, so a client validating with it agrees with Formloop on conditional questions.
        public = copy.deepcopy(self.validation_schema or self.schema)
        settings = public.pop("x-form", {})
        public["x-form"] = {key: settings[key] for key in
                            ("kind", "locales", "title", "description", "submitLabel", "thanks",
                             "opens", "closes") if key in settings}
        return public


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


def compile_definition(form_id: str, schema: Any, source: str) -> FormDefinition:
    """Check a definition and build its validator; raise DefinitionError naming the path."""
    if not isinstance(schema, dict):
        raise DefinitionError(source, "$", "a definition must be a JSON object")
    try:
        Draft202012Validator.check_schema(schema, format_checker=_FORMAT_CHECKER)
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
    _meta_check(X_FORM_SCHEMA, settings, source, ("x-form",))
    required = set(schema.get("required", []))
    properties: dict[str, Any] = schema["properties"]
    questions: list[Question] = []
    visibility: dict[str, Draft202012Validator] = {}
    conditions: list[dict[str, Any]] = []
    for name, prop in properties.items():
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
            visibility[name] = FormValidator(condition, format_checker=_FORMAT_CHECKER)
            if name in required:
                # Compiled to if/then so a hidden question can never be required.
                required.discard(name)
                conditions.append({"if": condition, "then": {"required": [name]}})
        # `required` on a conditional question means "required while shown".
        questions.append(Question(name=name, schema=prop, required=name in schema.get("required", [])))
    for key in ("respondentEmail", "feedbackKindField"):
        if key in settings and settings[key] not in properties:
            raise DefinitionError(source, _json_path(("x-form", key)),
                                  f"{settings[key]!r} is not one of the form's properties")
    _check_survey_settings(settings, source)
    validation_schema = dict(schema)
    validation_schema["required"] = [name for name in schema.get("required", []) if name in required]
    if conditions:
        validation_schema["allOf"] = list(schema.get("allOf", [])) + conditions
    return FormDefinition(
        id=form_id, source=source, schema=schema, settings=settings, questions=questions,
        validator=FormValidator(validation_schema, format_checker=_FORMAT_CHECKER),
        validation_schema=validation_schema,
        visibility=visibility,
    )


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


def parse_instant(value: Any) -> datetime | None:
    """An `opens`/`closes` setting as an aware datetime; None if absent or not a date-time with a zone."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


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


def _meta_check(meta: dict[str, Any], value: Any, source: str, prefix: tuple[Any, ...]) -> None:
    error = next(iter(sorted(Draft202012Validator(meta, format_checker=_FORMAT_CHECKER).iter_errors(value),
                             key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise DefinitionError(source, _json_path(prefix + tuple(error.absolute_path)), error.message)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def load_definition(path: Path) -> FormDefinition:
    """Read and check one definition file."""
    source = str(path)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, "$", f"not valid JSON: {exc}") from None
    form_id = path.stem
    if not FORM_ID.match(form_id):
        raise DefinitionError(source, "$", "file names must be lower-case letters, digits and '-' (e.g. contact.json)")
    declared = schema.get("$id") if isinstance(schema, dict) else None
    if declared is not None and declared != form_id:
        raise DefinitionError(source, "$.$id", f"$id {declared!r} must match the file name {form_id!r}")
    return compile_definition(form_id, schema, source)


class FormRegistry:
    """Finds definitions by id, loading and checking each on first use."""

    def __init__(self, forms_dir: Path) -> None:
        self.forms_dir = forms_dir
        self._cache: dict[str, FormDefinition] = {}

    def get(self, form_id: str) -> FormDefinition | None:
        """The definition of a form, or None if there is no such form."""
        if not FORM_ID.match(form_id):
            return None
        cached = self._cache.get(form_id)
        if cached is None:
            path = self.forms_dir / f"{form_id}.json"
            if not path.is_file():
                return None
            cached = self._cache[form_id] = load_definition(path)
        return cached

    def ids(self) -> list[str]:
        """Every form id in the definitions folder."""
        return sorted(p.stem for p in self.forms_dir.glob("*.json") if FORM_ID.match(p.stem))


def check_folder(folder: Path) -> list[DefinitionError]:
    """Check every definition in a folder; the errors found (empty when all are good)."""
    errors: list[DefinitionError] = []
    for path in sorted(folder.glob("*.json")):
        try:
            load_definition(path)
        except DefinitionError as exc:
            errors.append(exc)
    return errors


def main(argv: list[str]) -> int:
    """`python -m chalicelib.forms [folder]`: check definitions, for marketers and CI."""
    folder = Path(argv[0]) if argv else Path("forms")
    files = sorted(folder.glob("*.json"))
    if not files:
        print(f"no form definitions (*.json) in {folder}", file=sys.stderr)
        return 1
    errors = check_folder(folder)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"{len(files) - len(errors)} of {len(files)} definitions OK")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
