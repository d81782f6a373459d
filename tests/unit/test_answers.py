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


# --- exact number types -------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("3", 3), ("-3", -3), ("3.0", 3.0), ("1e3", 1000.0), ("1E3", 1000.0), ("2.5", 2.5), ("1e125", 1e125),
    ("1e-129", 1e-129), ("0", 0), (" 7 ", 7),
])
def test_number_text_keeps_its_exact_type(raw: str, expected: float) -> None:
    price = from_form(TYPES, {"count": "1", "price": raw})["price"]
    assert price == expected
    assert type(price) is type(expected)


@pytest.mark.parametrize("raw", ["1e200", "-1e200", "1e-200", "1e126"])
def test_finite_numbers_dynamodb_cannot_store_stay_text_and_fail(raw: str) -> None:
    answers = from_form(TYPES, {"count": "1", "price": raw})
    assert answers["price"] == raw
    assert messages(TYPES, answers) == {"price": "must be a number."}


def test_json_numbers_and_booleans_are_not_coerced() -> None:
    answers = coerce(TYPES, {"count": 1.0, "price": 3, "subscribe": 1}, from_form=False)
    assert answers == {"count": 1.0, "price": 3, "subscribe": 1}
    assert type(answers["count"]) is float and type(answers["price"]) is int
    assert messages(TYPES, {"count": 1, "subscribe": 1}) == {"subscribe": "must be yes or no."}


@pytest.mark.parametrize("raw", ["maybe", "2", "y", ""])
def test_text_that_is_not_a_yes_or_no_stays_text(raw: str) -> None:
    answers = from_form(TYPES, {"count": "1", "subscribe": raw})
    assert answers.get("subscribe", "") == raw


# --- limits at, one below and one above --------------------------------------------------------

@pytest.mark.parametrize("count, message", [(0, "must be at least 1."), (1, None), (2, None), (98, None), (99, None),
                                            (100, "must be at most 99.")])
def test_minimum_and_maximum_are_inclusive(count: int, message: str | None) -> None:
    assert messages(TYPES, {"count": count}) == ({"count": message} if message else {})


@pytest.mark.parametrize("code, message", [
    ("AB", "must be at least 3 characters."), ("ABC", None), ("ABCD", "must be at most 3 characters."),
])
def test_min_and_max_length_at_the_limit(code: str, message: str | None) -> None:
    found = messages(TYPES, {"count": 1, "code": code})
    assert found.get("code") == message


@pytest.mark.parametrize("size, message", [(0, "choose at least 1."), (1, None), (2, None), (3, "choose at most 2.")])
def test_array_sizes_at_the_limit(size: int, message: str | None) -> None:
    assert messages(TYPES, {"count": 1, "tags": list(range(1, size + 1))}) == ({"tags": message} if message else {})


def test_note_length_at_the_limit() -> None:
    assert messages(TYPES, {"count": 1, "note": "x" * 500}) == {}
    assert messages(TYPES, {"count": 1, "note": "x" * 501}) == {"note": "must be at most 500 characters."}


@pytest.mark.parametrize("price, message", [(-1, "must be more than 0."), (0, "must be more than 0."), (0.01, None)])
def test_exclusive_minimum_refuses_the_bound_itself(price: float, message: str | None) -> None:
    assert messages(TYPES, {"count": 1, "price": price}).get("price") == message


# --- control fields at their limits ------------------------------------------------------------

def test_control_field_of_2000_characters_is_kept_and_2001_refused_by_name() -> None:
    _, control, errors = split_control({"_subject": ["s" * 2000]}, CONTACT)
    assert control.subject == "s" * 2000 and errors == []
    _, control, errors = split_control({"_next": ["/" + "n" * 2000]}, CONTACT)
    assert [(e.field, e.message) for e in errors] == [("_next", "is too long (at most 2000 characters).")]
    assert control.next_url is None


def test_the_page_token_is_read_from_ts() -> None:
    _, control, errors = split_control({"_ts": [" 1795169700.abc "]}, CONTACT)
    assert control.page_token == "1795169700.abc" and errors == []


@pytest.mark.parametrize("value", [[], [""], ["  "], None, {"a": 1}, ["x", {"a": 1}]])
def test_control_values_that_are_not_text_are_ignored(value: Any) -> None:
    _, control, errors = split_control({"_subject": value, "_replyto": value}, CONTACT)
    assert (control.subject, control.reply_to, errors) == (None, None, [])


def test_json_control_values_use_the_last_item_as_text() -> None:
    _, control, _ = split_control({"_subject": ["first", " last "], "_language": 7}, CONTACT)
    assert (control.subject, control.language) == ("last", "7")


@pytest.mark.parametrize("honeypot", [[""], "", [], ["  "]])
def test_an_empty_honeypot_is_no_hit(honeypot: Any) -> None:
    assert not split_control({"_gotcha": honeypot}, CONTACT)[1].honeypot_hit


def test_the_honeypot_field_name_comes_from_the_form() -> None:
    own = compile_definition("own", {
        "type": "object", "properties": {"name": {"type": "string"}},
        "x-form": {"kind": "contact", "spam": {"honeypot": "_website"}},
    }, "forms/own.json")
    answers, control, _ = split_control({"_website": ["http://spam.example"], "name": ["Ann"]}, own)
    assert control.honeypot_hit
    assert answers == {"name": ["Ann"]}
    assert not split_control({"_gotcha": ["x"]}, own)[1].honeypot_hit


# --- Likert rows (a matrix question) -----------------------------------------------------------

FEEDBACK = load_definition(FORMS_DIR / "product-feedback.json")


@pytest.mark.parametrize("posted", [
    {"agreement.easy": "4", "agreement.fast": " 5 ", "agreement.value": "3"},
    {"agreement[easy]": "4", "agreement[fast]": "5", "agreement[value]": "3"},
    {"agreement.easy": "4", "agreement[fast]": "5", "agreement.value": ["1", "3"]},
])
def test_likert_rows_posted_by_a_plain_form_group_into_one_answer(posted: dict[str, Any]) -> None:
    answers = from_form(FEEDBACK, {**posted, "nps": "9"})
    assert answers == {"agreement": {"easy": 4, "fast": 5, "value": 3}, "nps": 9}
    assert "agreement" not in messages(FEEDBACK, answers)


def test_blank_likert_rows_are_dropped_and_a_blank_matrix_is_missing() -> None:
    answers = from_form(FEEDBACK, {"agreement.easy": "4", "agreement.fast": "", "agreement.value": [], "nps": "9"})
    assert answers == {"agreement": {"easy": 4}, "nps": 9}
    found = messages(FEEDBACK, answers)
    assert (found["agreement/fast"], found["agreement/value"]) == ("is required.", "is required.")
    [fast] = [e for e in validate(FEEDBACK, answers) if e.field == "agreement/fast"]
    assert fast.pointer == "/agreement/fast"
    blank = from_form(FEEDBACK, {"agreement.easy": "", "agreement.fast": [""], "nps": "9"})
    assert blank == {"nps": 9}
    assert messages(FEEDBACK, blank)["agreement"] == "is required."


def test_an_unknown_likert_row_is_named() -> None:
    answers = from_form(FEEDBACK, {"agreement.easy": "4", "agreement.fast": "5", "agreement.value": "3",
                                   "agreement.cheap": " yes "})
    assert answers["agreement"]["cheap"] == "yes"
    [error] = [e for e in validate(FEEDBACK, answers) if e.field.startswith("agreement")]
    assert (error.field, error.message, error.pointer) == (
        "agreement/cheap", "is not a field of this form.", "/agreement/cheap")


def test_likert_row_out_of_scale_points_into_the_row() -> None:
    [error] = [e for e in validate(FEEDBACK, {"agreement": {"easy": 9, "fast": 1, "value": 1}})
               if e.field.startswith("agreement")]
    assert (error.field, error.message) == ("agreement/easy", "must be one of: 1, 2, 3, 4, 5.")


def test_json_likert_rows_keep_their_types_and_an_empty_matrix() -> None:
    assert coerce(FEEDBACK, {"agreement": {"easy": "4", "fast": [5, 4]}}, from_form=False) == {
        "agreement": {"easy": 4, "fast": [5, 4]}}
    assert coerce(FEEDBACK, {"agreement": {}}, from_form=False) == {"agreement": {}}
    assert coerce(FEEDBACK, {"agreement": {"easy": None, "fast": ""}}, from_form=False) == {"agreement": {}}


def test_rows_are_not_grouped_when_the_question_itself_was_posted() -> None:
    answers = coerce(FEEDBACK, {"agreement": {"easy": 4}, "agreement.fast": 5}, from_form=False)
    assert answers == {"agreement": {"easy": 4}, "agreement.fast": 5}


def test_dotted_names_of_other_fields_are_left_alone() -> None:
    answers = from_form(FEEDBACK, {"utm.source": "ad", "name.first": "Ann", "nps": "9", "agreement.easy": "4"})
    assert answers == {"utm.source": "ad", "name.first": "Ann", "nps": 9, "agreement": {"easy": 4}}


def test_a_matrix_without_declared_rows_keeps_what_was_posted() -> None:
    loose = compile_definition("loose", {
        "type": "object", "properties": {"m": {"type": "object"}, "after": {"type": "integer"}},
        "x-form": {"kind": "contact"},
    }, "forms/loose.json")
    assert from_form(loose, {"m.a": " x ", "after": "2"}) == {"m": {"a": "x"}, "after": 2}
    closed = compile_definition("closed", {
        "type": "object", "properties": {"m": {"type": "object", "additionalProperties": False}},
        "x-form": {"kind": "contact"},
    }, "forms/closed.json")
    assert messages(closed, {"m": {"a": 1}}) == {"m/a": "is not a field of this form."}


# --- coercion edge cases ------------------------------------------------------------------------

def test_unknown_fields_pass_through_coercion_for_validation_to_name() -> None:
    answers = from_form(TYPES, {"count": "1", "extra": " x "})
    assert answers == {"count": 1, "extra": "x"}
    assert messages(TYPES, answers) == {"extra": "is not a field of this form."}


def test_an_empty_list_for_a_single_answer_is_no_answer() -> None:
    assert from_form(CONTACT, {"name": [], "phone": ["", ""]}) == {}


def test_json_object_for_a_text_question_is_kept_and_refused_as_not_text() -> None:
    answers = coerce(CONTACT, {"name": {"first": " Ann "}}, from_form=False)
    assert answers == {"name": {"first": " Ann "}}
    assert messages(CONTACT, answers)["name"] == "must be text."


def test_json_text_for_a_checkboxes_question_becomes_one_choice() -> None:
    assert coerce(SURVEY, {"features": "prices"}, from_form=False)["features"] == ["prices"]
    assert coerce(SURVEY, {"features": []}, from_form=False)["features"] == []


def test_fields_after_a_matrix_or_a_list_are_still_read() -> None:
    answers = from_form(FEEDBACK, {"agreement.easy": "4", "features": ["x"], "nps": "9", "orders": "3"})
    assert answers["nps"] == 9 and answers["orders"] == 3


def test_checkboxes_without_declared_items_keep_their_text() -> None:
    loose = compile_definition("loose-list", {
        "type": "object", "properties": {"tags": {"type": "array"}}, "x-form": {"kind": "contact"},
    }, "forms/loose-list.json")
    assert from_form(loose, {"tags": [" a ", "", "b"]}) == {"tags": ["a", "b"]}
    anything = compile_definition("any-list", {
        "type": "object", "properties": {"tags": {"type": "array", "items": True}}, "x-form": {"kind": "contact"},
    }, "forms/any-list.json")
    assert from_form(anything, {"tags": [" 1 ", "b"]}) == {"tags": ["1", "b"]}


# --- messages for each kind of problem ----------------------------------------------------------

MESSAGES = compile_definition("messages", {
    "type": "object", "additionalProperties": False,
    "properties": {
        "either": {"type": ["integer", "string"]},
        "maybe": {"type": ["number", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "group": {"type": "object", "required": ["x"], "properties": {"x": {"type": "integer"}}},
        "word": {"type": "string", "const": "email"},
        "below": {"type": "number", "exclusiveMaximum": 10},
        "contact": {"type": ["integer", "string"], "anyOf": [
            {"type": "integer", "minimum": 5}, {"type": "string", "format": "email"}]},
        "pick": {"type": "string", "oneOf": [{"const": "x"}, {"const": "y"}]},
    },
    "x-form": {"kind": "contact"},
}, "forms/messages.json")


@pytest.mark.parametrize("answers, expected", [
    ({"either": True}, {"either": "must be a whole number or text."}),
    ({"maybe": "x"}, {"maybe": "must be a number or empty."}),
    ({"tags": "x"}, {"tags": "must be a list of choices."}),
    ({"group": "x"}, {"group": "must be a group of answers."}),
    ({"group": {}}, {"group/x": "is required."}),
    ({"word": "mail"}, {"word": "must be 'email'."}),
    ({"below": 10}, {"below": "must be less than 10."}),
    ({"below": 9.5}, {}),
    ({"contact": 5}, {}),
])
def test_each_kind_of_problem_has_its_own_message(answers: dict[str, Any], expected: dict[str, str]) -> None:
    assert messages(MESSAGES, answers) == expected


@pytest.mark.parametrize("answers, expected", [
    ({"contact": 4}, {("contact", "must be at least 5."), ("contact", "must be text.")}),
    ({"contact": "x"}, {("contact", "must be a whole number."),
                        ("contact", "must be an email address, like name@example.com.")}),
    ({"pick": "z"}, {("pick", "must be 'x'."), ("pick", "must be 'y'.")}),
])
def test_each_alternative_of_a_choice_of_schemas_says_what_it_wanted(
        answers: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert {(e.field, e.message) for e in validate(MESSAGES, answers)} == expected


def test_a_nested_required_row_points_into_the_question() -> None:
    [error] = validate(MESSAGES, {"group": {}})
    assert (error.field, error.pointer) == ("group/x", "/group/x")


def test_list_items_with_line_breaks_are_refused() -> None:
    assert messages(MESSAGES, {"tags": ["fine", "two\nlines"]}) == {
        "tags": "contains control characters or line breaks."}


def test_a_form_only_jsonschema_can_check_gets_the_same_messages() -> None:
    uri = compile_definition("uri", {
        "type": "object", "required": ["site"], "properties": {"site": {"type": "string", "format": "uri"}},
        "x-form": {"kind": "contact"},
    }, "forms/uri.json")
    assert uri.fast_check is None
    assert messages(uri, {}) == {"site": "is required."}
    assert messages(uri, {"site": "https://example.com/"}) == {}


def test_errors_come_in_question_order_then_unknown_fields_by_name() -> None:
    errors = validate(SURVEY, {"zeta": 1, "email": "nope", "alpha": 2, "features": ["prices", "cheese"], "nps": 11})
    assert [e.field for e in errors] == ["nps", "features/1", "email", "alpha", "zeta"]


def test_the_same_problem_is_reported_once() -> None:
    errors = validate(CONTACT, {"name": "Ann\nLee", "email": "a@example.com", "topic": "idea", "message": "Hi",
                                "consent": True})
    assert [(e.field, e.message) for e in errors] == [("name", "contains control characters or line breaks.")]
