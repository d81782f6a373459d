"""The message a person reads for each kind of wrong answer, where it points, and how a page words it in French."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.errors import FieldError
from chalicelib.forms.answers import validate
from chalicelib.forms.definitions import compile_definition
from chalicelib.i18n.catalogue import translate_error

# Every question sits inside a group, so each error points below the field it belongs to.
NESTED = compile_definition("nested-messages", {
    "type": "object", "additionalProperties": False,
    "properties": {
        "profile": {"type": "object", "properties": {
            "age": {"type": "integer", "minimum": 18, "maximum": 120},
            "score": {"type": ["integer", "null"]},
            "email": {"type": "string", "format": "email"},
            "day": {"type": "string", "format": "date"},
            "name": {"type": "string", "minLength": 1},
            "code": {"type": "string", "minLength": 3, "maxLength": 5, "pattern": "^[A-Z]+$"},
            "agree": {"const": True},
            "plan": {"const": "pro"},
            "size": {"enum": ["s", "m"]},
            "picks": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 1,
                      "maxItems": 2},
            "step": {"type": "integer", "multipleOf": 5},
        }},
    },
    "x-form": {"kind": "contact"},
}, "forms/nested-messages.json")


def only_error(row: str, answer: Any) -> FieldError:
    """The one error an answer to one row of the group gets."""
    [error] = validate(NESTED, {"profile": {row: answer}})
    return error


@pytest.mark.parametrize("row, answer, message, french", [
    ("age", "x", "must be a whole number.", "doit être un nombre entier."),
    ("score", "x", "must be a whole number or empty.", "n’a pas le bon type de réponse."),
    ("email", "ann@", "must be an email address, like name@example.com.", None),
    ("day", "2026-02-30", "must be a valid date.", None),
    ("name", "", "must not be empty.", None),
    ("code", "AB", "must be at least 3 characters.", None),
    ("code", "ABCDEF", "must be at most 5 characters.", None),
    ("code", "abc", "contains characters that are not allowed here.", None),
    ("age", 17, "must be at least 18.", None),
    ("age", 121, "must be at most 120.", None),
    ("agree", False, "must be checked.", None),
    ("plan", "free", "must be 'pro'.", None),
    ("size", "xl", "must be one of: s, m.", None),
    ("picks", [], "choose at least 1.", None),
    ("picks", ["a", "b", "c"], "choose at most 2.", None),
    ("picks", ["a", "a"], "lists the same choice twice.", None),
    ("step", 12, "12 is not a multiple of 5", "n’est pas une réponse valide."),
])
def test_each_problem_below_a_question_points_at_its_row(
        row: str, answer: Any, message: str, french: str | None) -> None:
    error = only_error(row, answer)
    assert (error.field, error.message) == (f"profile/{row}", message)
    assert error.pointer == f"/profile/{row}"
    assert error.as_dict() == {"pointer": f"/profile/{row}", "field": f"profile/{row}", "message": message}
    if french is not None:
        assert translate_error(error, "fr") == french


def test_a_problem_jsonschema_alone_words_keeps_its_words_in_english_and_a_plain_sentence_elsewhere() -> None:
    error = only_error("step", 12)
    assert error.template == "is not a valid answer."
    assert translate_error(error, "en") == "12 is not a multiple of 5"
    assert translate_error(error, "fr") == "n’est pas une réponse valide."


def test_a_question_allowing_several_kinds_names_them_all_and_pages_say_it_is_the_wrong_kind() -> None:
    error = only_error("score", "x")
    assert error.template == "has the wrong kind of answer."
    assert translate_error(error, "en") == "must be a whole number or empty."


@pytest.mark.parametrize("row, answer, french", [
    ("age", 17, "doit être au moins 18."),
    ("code", "AB", "doit contenir au moins 3 caractères."),
    ("picks", ["a", "b", "c"], "choisissez-en au plus 2."),
])
def test_limits_are_filled_into_the_translated_sentence(row: str, answer: Any, french: str) -> None:
    assert translate_error(only_error(row, answer), "fr") == french


def test_a_problem_at_the_top_of_the_form_points_at_the_question_itself() -> None:
    [error] = validate(NESTED, {"profile": "x"})
    assert (error.field, error.message, error.pointer) == ("profile", "must be a group of answers.", "/profile")
