"""The compiled yes/no check agrees with jsonschema, so the fast path never accepts what jsonschema refuses."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.forms.definitions import FormDefinition, compile_definition, form_validator, load_definition
from chalicelib.forms.fastcheck import compile_check, portable_schema
from chalicelib.forms.patterns import PATTERN_MAX_CHARS

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
SHIPPED = {path.stem: load_definition(path) for path in sorted(FORMS_DIR.glob("*.json"))}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _plausible(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values near what a question accepts: its choices, numbers around its bounds, dates, addresses."""
    choices: list[Any] = list(schema.get("enum", [])) + ([schema["const"]] if "const" in schema else [])
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    options = [
        st.integers(int(schema.get("minimum", 0)) - 2, int(schema.get("maximum", 10)) + 2),
        st.sampled_from(["2026-11-20", "2026-02-30", "20261120", "a@example.com", "a@b", "x", "", " ", "1\n"]),
        st.text(min_size=0, max_size=int(schema.get("maxLength", 20)) + 2),
        st.lists(st.sampled_from(list(items.get("enum", ["x"])) + [1, True]), max_size=5),
        st.booleans(),
        JSON,
    ]
    if choices:
        options.insert(0, st.sampled_from(choices))
    if isinstance(schema.get("properties"), dict):
        rows = schema["properties"]
        options.insert(0, st.fixed_dictionaries({}, optional={row: _plausible(sub) for row, sub in rows.items()}))
    return st.one_of(options)


def _answers(definition: FormDefinition) -> st.SearchStrategy[Any]:
    known = {q.name: _plausible(q.schema) for q in definition.questions}
    extra = st.dictionaries(st.sampled_from(["_x", "other", "nps "]), JSON, max_size=1)
    return st.one_of(
        st.fixed_dictionaries({}, optional=known).flatmap(lambda base: extra.map(lambda more: {**base, **more})),
        JSON,
    )


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_every_shipped_form_and_condition_has_a_compiled_check(form_id: str) -> None:
    definition = SHIPPED[form_id]
    assert definition.fast_check is not None
    for condition in definition.conditions.values():
        assert compile_check(condition) is not None


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_compiled_check_and_jsonschema_give_the_same_verdict(form_id: str) -> None:
    definition = SHIPPED[form_id]
    check = definition.fast_check
    assert check is not None
    conditions = [(compile_check(c), form_validator(c)) for c in definition.conditions.values()]

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_answers(definition))
    def agree(answers: Any) -> None:
        assert check(answers) == definition.validator.is_valid(answers), answers
        for compiled, validator in conditions:
            assert compiled is not None and compiled(answers) == validator.is_valid(answers), answers

    agree()


def test_a_valid_post_of_each_kind_passes_both() -> None:
    contact = SHIPPED["contact"]
    answers = {"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "Hello", "consent": True}
    assert contact.fast_check is not None and contact.fast_check(answers) is True
    assert contact.validator.is_valid(answers)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"type": "string"}}},
    {"type": "array", "prefixItems": [{"type": "string"}]},
    {"type": "array", "items": [{"type": "string"}]},
    {"type": "number", "multipleOf": 0.1},
    {"type": "object", "dependentRequired": {"a": ["b"]}},
    {"type": "object", "unevaluatedProperties": False},
    {"enum": [{"a": 1}, [1, 2]]},
    {"type": "string", "format": "uri"},
    {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
])
def test_schemas_only_jsonschema_reads_exactly_get_no_compiled_check(schema: dict[str, Any]) -> None:
    assert portable_schema(schema) is None
    assert compile_check(schema) is None


def test_defaults_are_never_written_into_the_answers() -> None:
    check = compile_check({"type": "object", "properties": {"a": {"type": "string", "default": "filled"}}})
    answers: dict[str, Any] = {}
    assert check is not None and check(answers) is True
    assert answers == {}


def test_a_pattern_dollar_ends_the_text_in_both_validators() -> None:
    schema = {"type": "string", "maxLength": 10, "pattern": "^[0-9]+$"}
    check, validator = compile_check(schema), form_validator(schema)
    assert check is not None
    for text, valid in (("123", True), ("123\n", False), ("12a", False)):
        assert check(text) is valid and validator.is_valid(text) is valid, text


def test_a_pattern_without_max_length_refuses_long_text_in_both_validators() -> None:
    schema = {"type": "string", "pattern": "^a+$"}
    check, validator = compile_check(schema), form_validator(schema)
    assert check is not None
    for text, valid in (("a" * PATTERN_MAX_CHARS, True), ("a" * (PATTERN_MAX_CHARS + 1), False)):
        assert check(text) is valid and validator.is_valid(text) is valid


def test_a_dollar_inside_a_character_class_leaves_the_form_to_jsonschema() -> None:
    definition = compile_definition("price", {
        "type": "object", "properties": {"price": {"type": "string", "maxLength": 9, "pattern": "^[$0-9]+$",
                                                   "x-ui": {"widget": "text"}}},
        "x-form": {"kind": "contact"}}, "price.json")
    assert definition.fast_check is None
    assert definition.validator.is_valid({"price": "$12"})
    assert not definition.validator.is_valid({"price": "12 EUR"})


@pytest.mark.parametrize("value, valid", [
    ("2026-02-28", True), ("2026-02-30", False), ("2026-2-3", False), ("2026-02-28\n", False), (20260228, True),
])
def test_dates_are_judged_alike(value: Any, valid: bool) -> None:
    schema = {"format": "date"}
    check = compile_check(schema)
    assert check is not None and check(value) is valid and form_validator(schema).is_valid(value) is valid


def test_const_beside_enum_keeps_both_assertions() -> None:
    schema = {"enum": ["a", "b"], "const": "b"}
    check, validator = compile_check(schema), form_validator(schema)
    assert check is not None
    for value in ("a", "b", "c"):
        assert check(value) is validator.is_valid(value), value
