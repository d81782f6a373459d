"""A compiled yes/no check of answers against a form's schema, for the common case of a valid post.

jsonschema walks the schema again on every call (about 0.1 ms for a ten-question survey), and
importing it is most of what a cold start spends beyond boto3. fastjsonschema turns a schema into
a Python function once (a few microseconds per post) and imports in a few milliseconds. It
implements draft 7, so it is only given schemas whose every keyword means the same there as in
draft 2020-12 and as Formloop's jsonschema validator applies it (same `format` functions, same
`pattern` rules); for anything else `compile_check` returns None and jsonschema checks alone.
jsonschema still writes every error message: the compiled check only answers "valid or not".

A Lambda bundle ships each check already compiled (`check_bytecode` at packaging, `load_check` on a cold start):
neither fastjsonschema nor its code generator runs in Lambda, as a module's .pyc spares compiling its source.
"""
from __future__ import annotations

import functools
import marshal
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.forms.formats import FORMATS
from chalicelib.forms.patterns import PATTERN_MAX_CHARS

# A compiled check: True (valid), False (not valid), None (could not tell; ask jsonschema).
Check = Callable[[Any], "bool | None"]

_ASSERTIONS = {
    "type", "enum", "const", "required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "format", "minItems", "maxItems", "uniqueItems",
    "minProperties", "maxProperties",
}
_ANNOTATIONS = {
    "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated",
    "readOnly", "writeOnly",
}
_SUBSCHEMA = {"not", "if", "then", "else", "items", "additionalProperties"}
_SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}
_SCALARS = (str, int, float, bool, type(None))


def portable_schema(schema: Any) -> Any:
    """The schema as fastjsonschema should see it, or None when some keyword could mean something else there.

    Annotations are dropped (fastjsonschema would write `default` values into the answers), `const` is
    written as a one-value `enum`, and a `pattern` without `maxLength` gets the limit Formloop's
    jsonschema validator enforces.
    """
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, Mapping):
        return None
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in _ANNOTATIONS:
            continue
        if key in _ASSERTIONS:
            if not _plain_assertion(key, value):
                return None
            out[key] = value
        elif key == "properties" and isinstance(value, Mapping):
            properties = {name: portable_schema(sub) for name, sub in value.items()}
            if any(sub is None for sub in properties.values()):
                return None
            out[key] = properties
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list) and value:
            subs = [portable_schema(sub) for sub in value]
            if any(sub is None for sub in subs):
                return None
            out[key] = subs
        elif key in _SUBSCHEMA and isinstance(value, (Mapping, bool)):  # `items` as a list means tuples in draft 7
            sub = portable_schema(value)
            if sub is None:
                return None
            out[key] = sub
        else:
            return None
    if "const" in out:  # the same assertion as a one-value enum: fastjsonschema's short exceptions fail on const
        one = [out.pop("const")]
        if "enum" in out:
            out["allOf"] = [*out.get("allOf", []), {"enum": one}]
        else:
            out["enum"] = one
    if "pattern" in out and "maxLength" not in out:
        out["maxLength"] = PATTERN_MAX_CHARS
    return out


def _plain_assertion(key: str, value: Any) -> bool:
    """Whether an assertion's value is one both validators read alike (scalars only for enum and const)."""
    if key == "type":
        types = value if isinstance(value, list) else [value]
        return bool(types) and all(t in _TYPES for t in types)
    if key == "enum":
        return isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)
    if key == "const":
        return isinstance(value, _SCALARS)
    if key == "required":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if key == "format":
        return value in FORMATS
    if key == "pattern":
        return isinstance(value, str)
    if key == "uniqueItems":
        return isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _generated(schema: Any, *, as_code: bool) -> Any:
    """fastjsonschema's validate function for `schema` (or, `as_code`, its module's source), or None when only
    jsonschema can check it exactly."""
    portable = portable_schema(schema)
    if portable is None:
        return None
    import fastjsonschema

    generate = fastjsonschema.compile_to_code if as_code else fastjsonschema.compile
    try:
        # Short exceptions: half the compile time, and the messages come from jsonschema anyway.
        return generate(portable, formats=dict(FORMATS), use_default=False, detailed_exceptions=False)
    except Exception:  # noqa: BLE001 - e.g. a pattern whose `$` cannot be read as the end of the text
        return None  # jsonschema checks this schema alone; a form must never fail to load here


def compile_check(schema: Any) -> Check | None:
    """A compiled check of `schema`, or None when only jsonschema can check it exactly."""
    validate = _generated(schema, as_code=False)
    if validate is None:
        return None
    from fastjsonschema import JsonSchemaValueException
    return _answering(validate, JsonSchemaValueException)


# The one line of fastjsonschema's generated module that imports it: a shipped check gets both names from
# `load_check` instead, so a cold start never imports fastjsonschema (or its code generator).
_IMPORT_LINE = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"


class NotValidError(ValueError):
    """Raised inside a shipped check for answers its schema refuses (fastjsonschema's JsonSchemaValueException,
    whose constructor it takes)."""

    def __init__(self, message: str = "", value: Any = None, name: str | None = None, definition: Any = None,
                 rule: str | None = None) -> None:
        super().__init__(message)


class AllNotValidError(NotValidError):
    """fastjsonschema's JsonSchemaValuesException (every error at once), for a check generated without fast_fail."""

    def __init__(self, errors: list[NotValidError]) -> None:
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


def check_bytecode(schema: Any) -> Any:
    """The compiled check of `schema` as a code object for `marshal` (what a bundle ships), or None when only
    jsonschema can check it exactly (as `compile_check` answers)."""
    source = _generated(schema, as_code=True)
    if source is None:
        return None
    if source.count(_IMPORT_LINE) != 1 or "\ndef validate(" not in source:
        # fastjsonschema writes its modules otherwise now: packaging stops rather than ship a check that would
        # import it on a cold start (or find no `validate`)
        raise ValueError("fastjsonschema's generated module changed shape; update fastcheck.check_bytecode")
    return compile(source.replace(_IMPORT_LINE, ""), "<compiled form check>", "exec")


def load_check(code: Any) -> Check | None:
    """The check a `check_bytecode` code object defines (None stays None: only jsonschema can check)."""
    if code is None:
        return None
    namespace: dict[str, Any] = {"JsonSchemaValueException": NotValidError,
                                 "JsonSchemaValuesException": AllNotValidError}
    exec(code, namespace)  # noqa: S102 - bytecode Formloop compiled from its own definitions at packaging
    return _answering(functools.partial(namespace["validate"], custom_formats=dict(FORMATS)), NotValidError)


def dumps_checks(checks: Mapping[str, Any]) -> bytes:
    """Code objects by name, as a file a bundle ships: marshal's format belongs to one Python version, so the
    file starts with that version's bytecode magic number."""
    from importlib.util import MAGIC_NUMBER
    return MAGIC_NUMBER + marshal.dumps(dict(checks))


def loads_checks(data: bytes) -> dict[str, Any] | None:
    """What `dumps_checks` wrote, or None when another Python wrote it (its checks are compiled again)."""
    from importlib.util import MAGIC_NUMBER
    if not data.startswith(MAGIC_NUMBER):
        return None
    loaded = marshal.loads(data[len(MAGIC_NUMBER):])
    return loaded if isinstance(loaded, dict) else None


def _answering(validate: Callable[[Any], Any], invalid: type[Exception]) -> Check:
    """A Check around a fastjsonschema validate function: its exception for `invalid` means False."""

    def check(answers: Any) -> bool | None:
        try:
            validate(answers)
        except invalid:
            return False
        except Exception:  # noqa: BLE001 - anything unexpected is jsonschema's to judge, never a 500
            return None
        return True

    return check
