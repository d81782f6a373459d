"""Raw answers -> typed answers checked against the form's schema, with every error per field."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import N_, FieldError
from chalicelib.forms.definitions import FormDefinition
from chalicelib.intake.parsing import storable_number

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# Formspree-style control fields; any other `_` field is dropped rather than stored.
CONTROL_FIELDS = ("_replyto", "_subject", "_next", "_language", "_idempotency", "_gotcha", "_ts")
# Where each CAPTCHA provider's widget puts its token (hCaptcha fills both of its fields). Control fields too:
# never stored as answers, on every form, so a site's own widget never makes a post fail as an unknown field.
CAPTCHA_TOKEN_FIELDS: dict[str, tuple[str, ...]] = {
    "turnstile": ("cf-turnstile-response",), "hcaptcha": ("h-captcha-response", "g-recaptcha-response"),
    "recaptcha-v2": ("g-recaptcha-response",), "recaptcha-v3": ("g-recaptcha-response",),
}
TOKEN_FIELDS = frozenset(name for names in CAPTCHA_TOKEN_FIELDS.values() for name in names)
MAX_TOKEN_CHARS = 4096  # Turnstile documents 2048; reCAPTCHA tokens run longer
# Widgets whose browser input cannot hold a line break, so one in the answer was put there by a script.
_SINGLE_LINE_BAD = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_MULTI_LINE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTEGER = re.compile(r"^[+-]?\d{1,30}$")
_TRUE = {"on", "true", "1", "yes"}
_FALSE = {"off", "false", "0", "no"}
# A row of a matrix question as a plain form posts it: `agreement.easy` or `agreement[easy]`.
_ROW_KEY = re.compile(r"^([^.\[\]]+)(?:\.([^.\[\]]+)|\[([^.\[\]]+)\])$")


def _error(field: str, template: str, path: tuple[str | int, ...] = (), **params: str | int | float) -> FieldError:
    """A field error whose English message is `template` filled in; pages translate the template instead."""
    return FieldError(field, template.format(**params), path, template, tuple(params.items()))


@dataclass(frozen=True)
class ControlFields:
    """What the hidden `_` fields asked for."""

    reply_to: str | None = None
    subject: str | None = None
    next_url: str | None = None
    language: str | None = None
    idempotency_key: str | None = None
    page_token: str | None = None
    honeypot_hit: bool = False
    captcha_token: str | None = None  # from the field of the form's CAPTCHA provider, if it has one


def _last_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None:
        return None
    return str(value).strip() if not isinstance(value, (dict, list)) else None


def _filled(honeypot: Any) -> bool:
    """A honeypot holding text, or anything but text (a JSON object or number no page would send)."""
    if honeypot is None:
        return False
    return bool(_last_text(honeypot)) or not isinstance(honeypot, (str, list))


def split_control(
    values: Mapping[str, Any], definition: FormDefinition,
) -> tuple[dict[str, Any], ControlFields, list[FieldError]]:
    """Separate answers from control fields; errors for control values that cannot go in a header."""
    # Honeypots may have any names (Netlify's `bot-field`, Web3Forms' `botcheck`): they are never answers.
    honeypots = definition.honeypots
    answers = {k: v for k, v in values.items()
               if not k.startswith("_") and k not in TOKEN_FIELDS and k not in honeypots}
    errors: list[FieldError] = []
    texts: dict[str, str | None] = {}
    for name in ("_replyto", "_subject", "_next", "_language", "_idempotency", "_ts"):
        text = _last_text(values.get(name))
        if text is not None and _SINGLE_LINE_BAD.search(text):
            errors.append(_error(name, N_("must be a single line without control characters.")))
            text = None
        if text is not None and len(text) > 2000:
            errors.append(_error(name, N_("is too long (at most {limit} characters)."), limit=2000))
            text = None
        texts[name] = text or None
    token, token_errors = _captcha_token(values, definition)
    errors += token_errors
    control = ControlFields(
        captcha_token=token, reply_to=texts["_replyto"], subject=texts["_subject"], next_url=texts["_next"],
        language=texts["_language"], idempotency_key=texts["_idempotency"], page_token=texts["_ts"],
        honeypot_hit=any(_filled(values.get(name)) for name in honeypots),
    )
    return answers, control, errors


def _captcha_token(values: Mapping[str, Any], definition: FormDefinition) -> tuple[str | None, list[FieldError]]:
    """The token in the first of the provider's fields that holds one; an error if it cannot be a token."""
    provider = (definition.settings.get("captcha") or {}).get("provider")
    for name in CAPTCHA_TOKEN_FIELDS.get(str(provider), ()):
        text = _last_text(values.get(name))
        if not text:
            continue
        if len(text) > MAX_TOKEN_CHARS or _SINGLE_LINE_BAD.search(text):
            return None, [_error(name, N_("is not a token from the human check; please complete the check again."))]
        return text, []
    return None, []


def _coerce_scalar(value: Any, schema: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    kind = schema.get("type")
    if kind == "integer" and _INTEGER.match(text):
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        if math.isfinite(number) and storable_number(number):
            return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
        return text
    if kind == "boolean":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return text


def _unflatten(raw: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """Group `matrix.row` / `matrix[row]` posts (a Likert matrix's rows) into one object per question."""
    grouped: dict[str, Any] = {}
    for key, value in raw.items():
        match = _ROW_KEY.match(key)
        if match and properties.get(match[1], {}).get("type") == "object" and match[1] not in raw:
            rows = grouped.setdefault(match[1], {})
            if isinstance(rows, dict):
                rows[match[2] or match[3]] = value
            continue
        grouped[key] = value
    return grouped


def _coerce_object(value: dict[str, Any], schema: Mapping[str, Any], from_form: bool) -> dict[str, Any]:
    rows: Mapping[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for row, answer in value.items():
        if from_form and isinstance(answer, list):
            answer = answer[-1] if answer else ""
        answer = _coerce_scalar(answer, rows.get(row, {}))
        if answer != "" and answer is not None:
            out[row] = answer
    return out


def coerce(definition: FormDefinition, raw: Mapping[str, Any], *, from_form: bool) -> dict[str, Any]:
    """Turn posted strings into the types the schema asks for; drop blank optional answers."""
    properties: Mapping[str, Any] = definition.schema.get("properties", {})
    answers: dict[str, Any] = {}
    for name, value in _unflatten(raw, properties).items():
        schema = properties.get(name, {})
        if schema.get("type") == "object" and isinstance(value, dict):
            rows = _coerce_object(value, schema, from_form)
            if rows or not from_form:
                answers[name] = rows
            continue
        if schema.get("type") == "array":
            items = value if isinstance(value, list) else [value]
            item_schema = schema.get("items", {}) if isinstance(schema.get("items"), dict) else {}
            coerced = [_coerce_scalar(item, item_schema) for item in items]
            coerced = [item for item in coerced if item != ""]
            if coerced or not from_form:
                answers[name] = coerced
            continue
        if from_form and isinstance(value, list):
            # A hidden "off" before a checkbox, or a repeated field: the last value wins.
            value = value[-1] if value else ""
        value = _coerce_scalar(value, schema)
        if value == "" or value is None:
            continue
        answers[name] = value
    return answers


# One whole sentence per type, so each language words it its own way.
_TYPE_MESSAGES = {
    "integer": N_("must be a whole number."), "number": N_("must be a number."), "string": N_("must be text."),
    "boolean": N_("must be yes or no."), "array": N_("must be a list of choices."),
    "object": N_("must be a group of answers."), "null": N_("must be empty."),
}
_TYPE_NAMES = {"integer": "a whole number", "number": "a number", "string": "text", "boolean": "yes or no",
               "array": "a list of choices", "object": "a group of answers", "null": "empty"}
# Templates whose placeholder is the limit in the schema.
_LIMIT_MESSAGES = {
    "maxLength": N_("must be at most {value} characters."), "minimum": N_("must be at least {value}."),
    "maximum": N_("must be at most {value}."), "exclusiveMinimum": N_("must be more than {value}."),
    "exclusiveMaximum": N_("must be less than {value}."), "minItems": N_("choose at least {value}."),
    "maxItems": N_("choose at most {value}."),
}


def _number(value: Any) -> str | int | float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _message(error: ValidationError, field: str, parts: tuple[str | int, ...]) -> FieldError:
    validator, value = error.validator, error.validator_value
    if validator == "type" and isinstance(value, str) and value in _TYPE_MESSAGES:
        return _error(field, _TYPE_MESSAGES[value], parts)
    if validator == "type":
        kinds = " or ".join(_TYPE_NAMES.get(str(e), str(e)) for e in (value if isinstance(value, list) else [value]))
        return FieldError(field, f"must be {kinds}.", parts, N_("has the wrong kind of answer."))
    if validator == "format" and value == "email":
        return _error(field, N_("must be an email address, like name@example.com."), parts)
    if validator == "format":
        return _error(field, N_("must be a valid {format}."), parts, format=str(value))
    if validator == "minLength":
        if value == 1:
            return _error(field, N_("must not be empty."), parts)
        return _error(field, N_("must be at least {value} characters."), parts, value=_number(value))
    if validator in _LIMIT_MESSAGES:
        return _error(field, _LIMIT_MESSAGES[str(validator)], parts, value=_number(value))
    if validator == "enum":
        return _error(field, N_("must be one of: {choices}."), parts, choices=", ".join(str(v) for v in value))
    if validator == "const":
        if value is True:
            return _error(field, N_("must be checked."), parts)
        return _error(field, N_("must be {value}."), parts, value=repr(value))
    if validator == "pattern":
        return _error(field, N_("contains characters that are not allowed here."), parts)
    if validator == "uniqueItems":
        return _error(field, N_("lists the same choice twice."), parts)
    return FieldError(field, error.message, parts, N_("is not a valid answer."))


def _field_errors(error: ValidationError, definition: FormDefinition) -> list[FieldError]:
    parts = tuple(error.absolute_path)
    path = [str(p) for p in parts]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        return [_error("/".join(path + [n]), N_("is required."), (*parts, n)) for n in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # The properties of the object that failed (a matrix question's rows, or the form itself).
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        return [_error("/".join(path + [n]), N_("is not a field of this form."), (*parts, n))
                for n in error.instance if n not in known]
    if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
        return [fe for sub in error.context for fe in _field_errors(sub, definition)]
    return [_message(error, "/".join(path), parts)]


def _text_errors(definition: FormDefinition, answers: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    free_text = definition.free_text_fields
    for name, value in answers.items():
        # Free text keeps its line breaks (a message typed on two lines); other control characters never pass.
        multiline = name in free_text
        pattern = _MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD
        strings = value if isinstance(value, list) else [value]
        if any(isinstance(s, str) and pattern.search(s) for s in strings):
            errors.append(_error(name, N_("contains control characters.") if multiline
                                 else N_("contains control characters or line breaks.")))
    return errors


def validate(definition: FormDefinition, answers: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with the answers, one FieldError each, in the form's question order."""
    errors = _text_errors(definition, answers)
    check = definition.fast_check
    # The compiled check answers "valid" for most posts; jsonschema only runs to list what is wrong.
    if check is None or check(answers) is not True:
        for error in definition.validator.iter_errors(dict(answers)):
            errors.extend(_field_errors(error, definition))
    order = {q.name: i for i, q in enumerate(definition.questions)}
    unique: dict[tuple[str, str], FieldError] = {(e.field, e.message): e for e in errors}
    return sorted(unique.values(), key=lambda e: (order.get(e.field.split("/")[0], len(order)), e.field))
