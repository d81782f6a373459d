"""Raw answers -> typed answers, and every problem with them as a message a person can act on."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.forms.answers import coerce, split_control, validate
from chalicelib.forms.definitions import FormDefinition, compile_definition, load_definition

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
CONTACT = load_definition(FORMS_DIR / "contact.json")
SURVEY = load_definition(FORMS_DIR / "customer-survey.json")
TYPES = compile_definition("types", {
    "type": "object", "additionalProperties": False, "required": ["count"],
    "properties": {
        "count": {"type": "integer", "minimum": 1, "maximum": 99},
        "price": {"type": "number", "exclusiveMinimum": 0},
        "subscribe": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3},
        "note": {"type": "string", "maxLength": 500, "x-ui": {"widget": "textarea"}},
    },
    "x-form": {"kind": "contact"},
}, "forms/types.json")


def from_form(definition: FormDefinition, values: dict[str, Any]) -> dict[str, Any]:
    """Answers as a urlencoded post delivers them: every value a list of strings."""
    return coerce(definition, {k: v if isinstance(v, list) else [v] for k, v in values.items()}, from_form=True)


def messages(definition: FormDefinition, answers: dict[str, Any]) -> dict[str, str]:
    return {error.field: error.message for error in validate(definition, answers)}


# --- coercion -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [("9", 9), (" 9 ", 9), ("+7", 7), ("-3", -3), ("007", 7)])
def test_integers_from_text(raw: str, expected: int) -> None:
    assert from_form(TYPES, {"count": raw}) == {"count": expected}


@pytest.mark.parametrize("raw", ["9.0", "nine", "1e3", "9" * 31, "0x10", "1_000"])
def test_text_that_is_not_a_plain_integer_stays_text_and_fails_validation(raw: str) -> None:
    answers = from_form(TYPES, {"count": raw})
    assert answers == {"count": raw}
    assert messages(TYPES, answers) == {"count": "must be a whole number."}


@pytest.mark.parametrize("raw, expected", [("2.5", 2.5), ("3", 3), ("1e2", 100.0), (" 0.10 ", 0.1)])
def test_numbers_from_text(raw: str, expected: float) -> None:
    assert from_form(TYPES, {"count": "1", "price": raw})["price"] == expected


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "1e400", "12abc"])
def test_numbers_that_cannot_be_stored_stay_text_and_fail(raw: str) -> None:
    answers = from_form(TYPES, {"count": "1", "price": raw})
    assert answers["price"] == raw
    assert messages(TYPES, answers) == {"price": "must be a number."}


@pytest.mark.parametrize("raw, expected", [
    ("on", True), ("true", True), ("1", True), ("yes", True), ("ON", True), (" True ", True),
    ("off", False), ("false", False), ("0", False), ("no", False),
])
def test_booleans_from_checkbox_text(raw: str, expected: bool) -> None:
    assert from_form(TYPES, {"count": "1", "subscribe": raw})["subscribe"] is expected


def test_unchecked_checkbox_with_hidden_off_uses_the_last_value() -> None:
    assert from_form(TYPES, {"count": "1", "subscribe": ["off", "on"]})["subscribe"] is True
    assert from_form(TYPES, {"count": "1", "subscribe": ["off"]})["subscribe"] is False


def test_arrays_from_repeated_keys_with_items_coerced_and_blanks_dropped() -> None:
    assert from_form(TYPES, {"count": "1", "tags": ["1", " 2 ", ""]})["tags"] == [1, 2]
    assert from_form(SURVEY, {"features": "prices"})["features"] == ["prices"]


def test_array_with_only_blank_items_is_dropped_from_a_form_post() -> None:
    assert "tags" not in from_form(TYPES, {"count": "1", "tags": [""]})


def test_text_is_trimmed_and_blank_optional_answers_are_dropped() -> None:
    assert from_form(CONTACT, {"name": "  Ann Lee ", "phone": "   ", "message": "\nHello\n"}) == {
        "name": "Ann Lee", "message": "Hello"}


def test_repeated_scalar_field_keeps_the_last_value() -> None:
    assert from_form(CONTACT, {"name": ["Ann", "Bob"]}) == {"name": "Bob"}


def test_json_answers_keep_their_types() -> None:
    answers = coerce(TYPES, {"count": 5, "subscribe": False, "tags": [], "price": 2.5}, from_form=False)
    assert answers == {"count": 5, "subscribe": False, "tags": [], "price": 2.5}


def test_json_text_for_numbers_is_coerced_like_a_form_post() -> None:
    # Scripts often send `Object.fromEntries(new FormData(form))`, where every answer is text.
    answers = coerce(SURVEY, {"nps": "9", "email": "a@example.com"}, from_form=False)
    assert answers == {"nps": 9, "email": "a@example.com"}


def test_json_list_for_a_single_answer_is_not_flattened() -> None:
    answers = coerce(CONTACT, {"name": ["Ann"]}, from_form=False)
    assert answers == {"name": ["Ann"]}
    assert messages(CONTACT, answers)["name"] == "must be text."


# --- control fields -----------------------------------------------------------------------------

def test_control_fields_are_split_from_answers() -> None:
    answers, control, errors = split_control({
        "name": ["Ann"], "_replyto": ["ann@example.com"], "_subject": ["Hi"], "_next": ["/thanks"],
        "_language": ["ru"], "_idempotency": ["tok"], "_gotcha": [""], "_utm_source": ["ad"]}, CONTACT)
    assert answers == {"name": ["Ann"]}
    assert (control.reply_to, control.subject, control.next_url, control.language, control.idempotency_key) == (
        "ann@example.com", "Hi", "/thanks", "ru", "tok")
    assert not control.honeypot_hit and errors == []


@pytest.mark.parametrize("honeypot", [["http://spam.example"], "x", {"a": 1}, 1, True])
def test_any_honeypot_value_is_a_hit(honeypot: Any) -> None:
    assert split_control({"_gotcha": honeypot}, CONTACT)[1].honeypot_hit


@pytest.mark.parametrize("field", ["_replyto", "_subject", "_next", "_language", "_idempotency"])
@pytest.mark.parametrize("bad", ["a\r\nBcc: x@example.net", "a\nb", "a\x00b", "a\u2028b", "a\tb"])
def test_control_fields_refuse_line_breaks_and_control_characters(field: str, bad: str) -> None:
    _, control, errors = split_control({field: [bad]}, CONTACT)
    assert [(e.field, e.message) for e in errors] == [(field, "must be a single line without control characters.")]
    assert control.reply_to is None and control.subject is None


def test_over_long_control_field_is_refused() -> None:
    _, control, errors = split_control({"_subject": ["s" * 2001]}, CONTACT)
    assert [e.message for e in errors] == ["is too long (at most 2000 characters)."]
    assert control.subject is None


# --- validation messages ------------------------------------------------------------------------

def test_empty_answers_list_every_required_field_in_question_order() -> None:
    errors = validate(CONTACT, {})
    assert [(e.field, e.message, e.pointer) for e in errors] == [
        (name, "is required.", f"/{name}") for name in ("name", "email", "topic", "message", "consent")]


@pytest.mark.parametrize("answers, field, message", [
    ({"count": True}, "count", "must be a whole number."),
    ({"count": 0}, "count", "must be at least 1."),
    ({"count": 100}, "count", "must be at most 99."),
    ({"count": 1, "price": 0}, "price", "must be more than 0."),
    ({"count": 1, "subscribe": "maybe"}, "subscribe", "must be yes or no."),
    ({"count": 1, "tags": []}, "tags", "choose at least 1."),
    ({"count": 1, "tags": [1, 2, 3]}, "tags", "choose at most 2."),
    ({"count": 1, "code": "ab1"}, "code", "contains characters that are not allowed here."),
    ({"count": 1, "code": "ABCD"}, "code", "must be at most 3 characters."),
    ({"count": 1, "code": "AB"}, "code", "must be at least 3 characters."),
    ({"count": 1, "extra": "x"}, "extra", "is not a field of this form."),
])
def test_each_keyword_has_a_message_for_people(answers: dict[str, Any], field: str, message: str) -> None:
    assert messages(TYPES, answers) == {field: message}


def test_contact_messages() -> None:
    found = messages(CONTACT, {"name": "", "email": "ann@", "topic": "rant", "message": "Hi", "consent": False})
    assert found == {
        "name": "must not be empty.",
        "email": "must be an email address, like name@example.com.",
        "topic": "must be one of: complaint, idea, question, praise, referral.",
        "consent": "must be checked.",
    }


def test_array_item_errors_point_into_the_array() -> None:
    [error] = validate(SURVEY, {"nps": 9, "email": "a@example.com", "features": ["prices", "cheese"]})
    assert (error.field, error.pointer) == ("features/1", "/features/1")
    assert error.message == "must be one of: delivery, prices, support, website."
    [duplicate] = validate(SURVEY, {"nps": 9, "email": "a@example.com", "features": ["prices", "prices"]})
    assert (duplicate.field, duplicate.message) == ("features", "lists the same choice twice.")


def test_unknown_field_names_are_escaped_in_pointers() -> None:
    [error] = validate(TYPES, {"count": 1, "a/b~c": "x"})
    assert error.pointer == "/a~1b~0c"


@pytest.mark.parametrize("text", ["Ann\r\nBcc: x", "Ann\nLee", "Ann\x00", "Ann\u2028", "Ann\x1b[31m"])
def test_single_line_answers_refuse_line_breaks_and_control_characters(text: str) -> None:
    [error] = [e for e in validate(CONTACT, {"name": text}) if e.field == "name"]
    assert error.message == "contains control characters or line breaks."


def test_multi_line_answers_keep_line_breaks_but_refuse_other_control_characters() -> None:
    assert "note" not in messages(TYPES, {"count": 1, "note": "line 1\r\nline 2\n\tindented"})
    assert messages(TYPES, {"count": 1, "note": "bell\x07"}) == {"note": "contains control characters."}


def test_conditional_question_is_required_only_while_shown() -> None:
    assert messages(SURVEY, {"nps": 3, "email": "a@example.com"}) == {"reason": "is required."}
    assert messages(SURVEY, {"nps": 9, "email": "a@example.com"}) == {}
    assert SURVEY.visible_answers({"nps": 9, "reason": "hidden"}) == {"nps": 9}
