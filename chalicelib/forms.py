"""Form definitions: one JSON Schema 2020-12 document per form, settings in `x-` annotations.

Definitions are checked when loaded (and by `make check-forms` and the test suite): the
schema itself, a meta-schema for the `x-` parts, and every regular expression. A Lambda
package records the SHA-256 of the definitions it checked at packaging; those exact bytes are
not checked again on a cold start.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DefinitionError
from .fastcheck import Check, compile_check
from .formats import FORMATS
from .patterns import bounded_pattern, regex_problem

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker

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
                           "subject": _LABEL,
                           "language": {"type": "string", "pattern": LOCALE}},
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

# Definitions packaged for Lambda carry the SHA-256 of every file checked at packaging (sha256sum's format):
# a file whose bytes still match is not checked again on a cold start.
CHECKED_MANIFEST = "checked.sha256"


# jsonschema is imported on first need only: a valid post to a packaged form never needs it.
@functools.cache
def format_checker() -> FormatChecker:
    """The format checker every form validator uses: jsonschema's, with Formloop's own where it has one."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    for name, function in FORMATS.items():
        checker.checks(name)(function)
    return checker


@functools.cache
def _form_validator_class() -> Any:
    """Draft 2020-12, except that `pattern` never runs on text longer than the question allows."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": bounded_pattern})


def form_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A jsonschema validator of answers (every error, with its path) for a form or a condition."""
    validator: Draft202012Validator = _form_validator_class()(schema, format_checker=format_checker())
    return validator


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
    # The schema answers are checked against: `visibleIf` compiled into if/then, so a hidden question is never
    # required.
    validation_schema: dict[str, Any] = field(default_factory=dict)
    # Question name -> its `visibleIf` condition (a schema the other answers must satisfy).
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        """jsonschema's validator of answers: every error, with its field (built on first need)."""
        return form_validator(self.validation_schema)

    @functools.cached_property
    def fast_check(self) -> Check | None:
        """The compiled yes/no check of answers, or None when only jsonschema can check this form exactly."""
        return compile_check(self.validation_schema)

    @functools.cached_property
    def _condition_checks(self) -> dict[str, tuple[Check | None, Any]]:
        return {name: (compile_check(condition), condition) for name, condition in self.conditions.items()}

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

    def shown(self, name: str, answers: Mapping[str, Any]) -> bool:
        """Whether a question is shown, given the other answers (always, without a `visibleIf`)."""
        if name not in self.conditions:
            return True
        check, condition = self._condition_checks[name]
        verdict = check(answers) if check is not None else None
        return form_validator(condition).is_valid(answers) if verdict is None else verdict

    def visible_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Drop answers to questions whose `visibleIf` the other answers do not satisfy."""
        if not self.conditions:
            return answers
        return {name: value for name, value in answers.items() if self.shown(name, answers)}

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


def compile_definition(form_id: str, schema: Any, source: str, *, checked: bool = False) -> FormDefinition:
    """Check a definition (unless these exact bytes were checked at packaging) and build it; raise
    DefinitionError naming the path."""
    if not checked:
        _check_document(schema, source)
    settings = schema["x-form"]
    required = set(schema.get("required", []))
    properties: dict[str, Any] = schema["properties"]
    questions: list[Question] = []
    conditions: dict[str, dict[str, Any]] = {}
    compiled: list[dict[str, Any]] = []
    for name, prop in properties.items():
        if not checked:
            _check_question(name, prop, source)
        condition = prop.get("x-ui", {}).get("visibleIf")
        if condition is not None:
            conditions[name] = condition
            if name in required:
                # Compiled to if/then so a hidden question can never be required.
                required.discard(name)
                compiled.append({"if": condition, "then": {"required": [name]}})
        # `required` on a conditional question means "required while shown".
        questions.append(Question(name=name, schema=prop, required=name in schema.get("required", [])))
    validation_schema = dict(schema)
    validation_schema["required"] = [name for name in schema.get("required", []) if name in required]
    if compiled:
        validation_schema["allOf"] = list(schema.get("allOf", [])) + compiled
    return FormDefinition(
        id=form_id, source=source, schema=schema, settings=settings, questions=questions,
        validation_schema=validation_schema, conditions=conditions,
    )


def _check_document(schema: Any, source: str) -> None:
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
    _meta_check(X_FORM_SCHEMA, settings, source, ("x-form",))
    for key in ("respondentEmail", "feedbackKindField"):
        if key in settings and settings[key] not in schema["properties"]:
            raise DefinitionError(source, _json_path(("x-form", key)),
                                  f"{settings[key]!r} is not one of the form's properties")
    _check_survey_settings(settings, source)


def _check_question(name: str, prop: Any, source: str) -> None:
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
    from jsonschema import Draft202012Validator

    error = next(iter(sorted(Draft202012Validator(meta, format_checker=format_checker()).iter_errors(value),
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


def load_definition(path: Path, checked_digest: str | None = None) -> FormDefinition:
    """Read one definition file and check it, unless its SHA-256 is `checked_digest` (checked at packaging)."""
    source = str(path)
    raw = path.read_bytes()
    checked = checked_digest is not None and hashlib.sha256(raw).hexdigest() == checked_digest
    try:
        schema = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, "$", f"not valid JSON: {exc}") from None
    form_id = path.stem
    if not FORM_ID.match(form_id):
        raise DefinitionError(source, "$", "file names must be lower-case letters, digits and '-' (e.g. contact.json)")
    declared = schema.get("$id") if isinstance(schema, dict) else None
    if declared is not None and declared != form_id:
        raise DefinitionError(source, "$.$id", f"$id {declared!r} must match the file name {form_id!r}")
    return compile_definition(form_id, schema, source, checked=checked)


def read_manifest(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 of the definitions checked at packaging (empty without a manifest)."""
    try:
        text = (folder / CHECKED_MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    digests: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            digests[name] = digest
    return digests


def seal_folder(folder: Path) -> list[DefinitionError]:
    """Check every definition in a folder and, if all are good, record their SHA-256 in its manifest."""
    (folder / CHECKED_MANIFEST).unlink(missing_ok=True)
    errors = check_folder(folder)
    if not errors:
        lines = [f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
                 for path in sorted(folder.glob("*.json"))]
        (folder / CHECKED_MANIFEST).write_text("".join(lines), encoding="utf-8")
    return errors


class FormRegistry:
    """Finds definitions by id, loading and checking each on first use."""

    def __init__(self, forms_dir: Path) -> None:
        self.forms_dir = forms_dir
        self._cache: dict[str, FormDefinition] = {}
        self._checked: dict[str, str] | None = None

    def get(self, form_id: str) -> FormDefinition | None:
        """The definition of a form, or None if there is no such form."""
        if not FORM_ID.match(form_id):
            return None
        cached = self._cache.get(form_id)
        if cached is None:
            path = self.forms_dir / f"{form_id}.json"
            if not path.is_file():
                return None
            if self._checked is None:
                self._checked = read_manifest(self.forms_dir)
            cached = self._cache[form_id] = load_definition(path, self._checked.get(path.name))
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
