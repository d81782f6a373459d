"""The compiled answer checks a bundle ships: what fastjsonschema is given of a schema, the bytecode a cold start
loads (and never an import of fastjsonschema), packaging stopping when fastjsonschema's modules change shape, and a
check that meets something unexpected leaving the verdict to jsonschema."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.forms import fastcheck
from chalicelib.forms.fastcheck import (
    AllNotValidError,
    NotValidError,
    check_bytecode,
    compile_check,
    dumps_checks,
    load_check,
    loads_checks,
    portable_schema,
)
from chalicelib.forms.patterns import PATTERN_MAX_CHARS

SCHEMA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "maxLength": 5, "title": "Name", "x-ui": {"widget": "text"}},
    "code": {"type": "string", "pattern": "^[a-z]+$"},
    "answer": {"const": "yes", "description": "the only answer"},
    "roles": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
}}


def test_fastjsonschema_is_given_assertions_only_with_const_as_an_enum_and_patterns_bounded() -> None:
    assert portable_schema(SCHEMA) == {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "maxLength": 5},
        "code": {"type": "string", "pattern": "^[a-z]+$", "maxLength": PATTERN_MAX_CHARS},
        "answer": {"enum": ["yes"]},
        "roles": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
    }}
    assert portable_schema({"enum": ["a", "b"], "const": "b"}) == {"enum": ["a", "b"], "allOf": [{"enum": ["b"]}]}
    assert portable_schema({"const": 1, "enum": [1], "allOf": [{"type": "integer"}]}) == {
        "enum": [1], "allOf": [{"type": "integer"}, {"enum": [1]}]}
    assert portable_schema({"type": "string", "pattern": "^a", "maxLength": 3}) == {
        "type": "string", "pattern": "^a", "maxLength": 3}
    assert portable_schema(True) is True and portable_schema(False) is False
    assert portable_schema({"not": {"type": "null"}, "if": True, "then": {"minimum": 1}}) == {
        "not": {"type": "null"}, "if": True, "then": {"minimum": 1}}


@pytest.mark.parametrize("schema", [
    "a string", None, [{"type": "string"}],
    {"type": []}, {"type": ["string", "date"]}, {"type": 7},
    {"enum": "ab"}, {"enum": [[1]]}, {"const": {"a": 1}}, {"const": [1]},
    {"required": "name"}, {"required": ["name", 1]},
    {"format": "ipv4"}, {"pattern": 5}, {"uniqueItems": 1}, {"minimum": True}, {"maxLength": "3"},
    {"properties": {"a": {"type": "string"}, "b": {"$ref": "#"}}}, {"properties": [1]},
    {"allOf": []}, {"anyOf": [{"type": "string"}, {"format": "uri"}]}, {"oneOf": {"type": "string"}},
    {"not": {"format": "uri"}}, {"items": "string"}, {"additionalProperties": {"multipleOf": 2}},
])
def test_what_fastjsonschema_could_read_otherwise_is_left_to_jsonschema(schema: Any) -> None:
    assert portable_schema(schema) is None
    assert compile_check(schema) is None and check_bytecode(schema) is None


@pytest.mark.parametrize("schema", [{"type": ["integer", "null"]}, {"enum": [1, "a", None, True, 1.5]},
                                    {"const": None}, {"required": []}, {"format": "email"}, {"format": "date"},
                                    {"uniqueItems": False}, {"minimum": 1.5}, {"maxItems": 3}])
def test_assertions_both_validators_read_alike_are_compiled(schema: Any) -> None:
    assert portable_schema(schema) is not None and compile_check(schema) is not None


def test_a_shipped_check_judges_as_the_one_compiled_on_first_need() -> None:
    code = check_bytecode(SCHEMA)
    assert code is not None and code.co_filename == "<compiled form check>"
    shipped, fresh = load_check(code), compile_check(SCHEMA)
    assert shipped is not None and fresh is not None
    for answers, valid in [({"name": "Ann"}, True), ({"name": "Annabel"}, False), ({}, False),
                           ({"name": "Ann", "code": "abc"}, True), ({"name": "Ann", "code": "ab1"}, False),
                           ({"name": "Ann", "answer": "no"}, False), ({"name": "Ann", "roles": ["a", "a"]}, False),
                           ({"name": "Ann", "code": "a" * (PATTERN_MAX_CHARS + 1)}, False), ("text", False)]:
        assert shipped(answers) is valid and fresh(answers) is valid, answers
    assert load_check(None) is None


def test_a_shipped_check_never_imports_fastjsonschema() -> None:
    code = check_bytecode(SCHEMA)
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(const for const in current.co_consts if hasattr(const, "co_names"))
    assert "fastjsonschema" not in names


def test_packaging_stops_when_fastjsonschema_writes_its_modules_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    import fastjsonschema

    real = fastjsonschema.compile_to_code
    for reshape in (lambda source: source.replace(fastcheck._IMPORT_LINE, "import fastjsonschema\n"),
                    lambda source: source + fastcheck._IMPORT_LINE,
                    lambda source: source.replace("\ndef validate(", "\ndef check(")):
        monkeypatch.setattr(fastjsonschema, "compile_to_code", lambda *a, _r=reshape, **k: _r(real(*a, **k)))
        with pytest.raises(ValueError) as caught:
            check_bytecode(SCHEMA)
        assert str(caught.value) == ("fastjsonschema's generated module changed shape; update "
                                     "fastcheck.check_bytecode")


def test_a_check_that_meets_something_unexpected_leaves_the_verdict_to_jsonschema() -> None:
    def broken(answers: Any) -> None:
        raise RecursionError("too deep")

    def refusing(answers: Any) -> None:
        raise NotValidError("data must be object", answers, "data", None, "type")

    assert fastcheck._answering(broken, NotValidError)({}) is None
    assert fastcheck._answering(refusing, NotValidError)({}) is False


def test_every_error_at_once_reads_as_one_message() -> None:
    error = AllNotValidError([NotValidError("data.name must be string"), NotValidError("data must contain name")])
    assert str(error) == "data.name must be string; data must contain name"
    assert [str(e) for e in error.errors] == ["data.name must be string", "data must contain name"]
    assert isinstance(error, NotValidError) and isinstance(error, ValueError)


def test_a_checks_file_holds_only_a_table_of_checks() -> None:
    import marshal
    from importlib.util import MAGIC_NUMBER

    assert loads_checks(dumps_checks({"validation": None})) == {"validation": None}
    assert loads_checks(MAGIC_NUMBER + marshal.dumps(["validation"])) is None
    assert loads_checks(b"") is None
