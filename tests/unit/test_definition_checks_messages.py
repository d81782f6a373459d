"""What a form's author reads when a definition is refused: the JSON path and the whole message, for references,
conditions, widgets, survey dates, honeypots and CAPTCHA settings; and the look-alikes that are accepted."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core.errors import DefinitionError
from chalicelib.forms.definitions import FormDefinition, compile_definition

BASE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 100, "x-ui": {"widget": "text"}},
        "email": {"type": "string", "format": "email", "maxLength": 254},
    },
    "x-form": {"kind": "contact", "respondentEmail": "email"},
}


def changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    definition = copy.deepcopy(BASE)
    change(definition)
    return definition


def accepted(change: Callable[[dict[str, Any]], Any]) -> FormDefinition:
    return compile_definition("sample", changed(change), "forms/sample.json")


def refused(change: Callable[[dict[str, Any]], Any]) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        compile_definition("sample", changed(change), "forms/sample.json")
    assert str(caught.value) == f"forms/sample.json: at {caught.value.json_path}: {caught.value.message}"
    return caught.value


def question(name: str, schema: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda d: d["properties"].__setitem__(name, schema)


def with_defs(ref: str) -> Callable[[dict[str, Any]], Any]:
    def change(d: dict[str, Any]) -> None:
        d["$defs"] = {"a/b": {"type": "string"}, "t~x": {"type": "string"},
                      "choice": {"anyOf": [{"type": "string"}, {"type": "integer", "properties": {"n": {}}}]}}
        d["properties"]["code"] = {"$ref": ref}
    return change


# --- references -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ref", ["#/$defs/a~1b", "#/$defs/t~0x", "#/$defs/choice/anyOf/1", "#/$defs/choice/anyOf/0",
                                 "#/$defs/choice/anyOf/1/properties/n", "#"])
def test_a_reference_to_a_part_of_the_definition_is_accepted(ref: str) -> None:
    assert accepted(with_defs(ref)).schema["properties"]["code"] == {"$ref": ref}


@pytest.mark.parametrize("ref", ["#/$defs/a/b", "#/$defs/t~1x", "#/$defs/choice/anyOf/2", "#/$defs/choice/anyOf/x",
                                 "#/$defs/choice/anyOf/-1", "#/$defs/choice/anyOf/0/properties/n", "#/$defs/a~1b/x"])
def test_a_reference_to_nothing_names_itself(ref: str) -> None:
    error = refused(with_defs(ref))
    assert (error.json_path, error.message) == ("$.properties.code.$ref", f"{ref!r} points to nothing in this "
                                                                           "definition")


def test_a_dynamic_reference_outside_the_definition_is_refused() -> None:
    error = refused(question("code", {"$dynamicRef": "https://example.com/s.json"}))
    assert (error.json_path, error.message) == ("$.properties.code.$dynamicRef", "'https://example.com/s.json' "
                                                "refers to another document; a definition must be self-contained")


@pytest.mark.parametrize("condition", [
    {"$dynamicRef": "#"},
    {"properties": {"email": {"$ref": "#/properties/email"}}},
    {"anyOf": [{"required": ["name"]}, {"$ref": "#/properties/email"}]},
])
def test_a_condition_may_not_use_a_reference_however_deep(condition: dict[str, Any]) -> None:
    error = refused(lambda d: d["properties"]["email"].__setitem__("x-ui", {"visibleIf": condition}))
    assert (error.json_path, error.message) == ("$.properties.email.x-ui.visibleIf",
                                                "a visibleIf condition cannot use $ref")


def test_a_condition_without_a_reference_is_accepted() -> None:
    condition = {"anyOf": [{"required": ["name"]}, {"properties": {"name": {"const": "x"}}}]}
    form = accepted(lambda d: d["properties"]["email"].__setitem__("x-ui", {"visibleIf": condition}))
    assert form.conditions == {"email": condition}


# --- widgets ------------------------------------------------------------------------------------------------------

LIKERT = 'a likert question is {"type": "object"} with one property per row, each the same "enum"'
CHECKBOXES = 'a checkboxes question is {"type": "array", "items": {"enum": [...]}}'
ROWS = {"easy": {"enum": [1, 2, 3]}, "fast": {"enum": [1, 2, 3]}}


@pytest.mark.parametrize("schema, message", [
    ({"type": "object", "properties": {"easy": {"enum": [1, 2]}, "fast": {"enum": [1, 3]}}}, LIKERT),
    ({"type": "object", "properties": {"easy": {"enum": [1, 2]}, "fast": {"type": "integer"}}}, LIKERT),
    ({"type": "object", "properties": {}}, LIKERT),
    ({"type": "object", "properties": {"easy": True}}, LIKERT),
    ({"type": "array", "properties": ROWS}, LIKERT),
    ({"type": "object"}, LIKERT),
])
def test_a_likert_question_needs_rows_with_the_same_choices(schema: dict[str, Any], message: str) -> None:
    error = refused(question("agree", {**schema, "x-ui": {"widget": "likert"}}))
    assert (error.json_path, error.message) == ("$.properties.agree", message)


def test_a_likert_question_with_the_same_choices_per_row_is_accepted() -> None:
    assert accepted(question("agree", {"type": "object", "properties": ROWS, "x-ui": {"widget": "likert"}}))
    one_row = {"easy": {"enum": [1, 2, 3]}}
    assert accepted(question("agree", {"type": "object", "properties": one_row, "x-ui": {"widget": "likert"}}))


@pytest.mark.parametrize("schema", [
    {"type": "array", "items": {"type": "string"}},
    {"type": "array", "items": {"enum": []}},
    {"type": "array"},
    {"type": "string", "items": {"enum": ["a"]}},
])
def test_a_checkboxes_question_needs_its_choices(schema: dict[str, Any]) -> None:
    error = refused(question("roles", {**schema, "x-ui": {"widget": "checkboxes"}}))
    assert (error.json_path, error.message) == ("$.properties.roles", CHECKBOXES)


@pytest.mark.parametrize("widget", ["radio", "select"])
def test_a_radio_or_select_question_needs_an_enum(widget: str) -> None:
    error = refused(question("topic", {"type": "string", "x-ui": {"widget": widget}}))
    assert (error.json_path, error.message) == ("$.properties.topic", f'a {widget} question needs an "enum" of its '
                                                                       "choices")
    assert accepted(question("topic", {"type": "string", "enum": ["a"], "x-ui": {"widget": widget}}))


@pytest.mark.parametrize("widget, schema", [
    ("rating", {"type": "integer"}),  # 1 to 5 by default
    ("rating", {"type": "integer", "minimum": 0, "maximum": 10}),
    ("rating", {"type": "integer", "minimum": 4, "maximum": 5}),
    ("rating", {"type": "integer", "maximum": 2}),  # from the default minimum of 1
    ("rating", {"type": "integer", "maximum": 11}),
    ("rating", {"type": "integer", "minimum": 4}),  # to the default maximum of 5
    ("nps", {"type": "integer"}),  # 0 to 10 by default
    ("nps", {"type": "integer", "minimum": 1, "maximum": 2}),
])
def test_a_scale_of_one_to_ten_steps_is_accepted(widget: str, schema: dict[str, Any]) -> None:
    assert accepted(question("score", {**schema, "x-ui": {"widget": widget}}))


@pytest.mark.parametrize("widget, schema", [
    ("rating", {"type": "integer", "minimum": 0, "maximum": 11}),
    ("rating", {"type": "integer", "minimum": 5, "maximum": 5}),
    ("rating", {"type": "integer", "minimum": 6}),  # above the default maximum of 5
    ("rating", {"type": "integer", "minimum": 5}),  # no step to the default maximum of 5
    ("rating", {"type": "integer", "maximum": 12}),  # eleven steps from the default minimum of 1
    ("rating", {"type": "number", "minimum": 1, "maximum": 5}),
    ("rating", {"type": "integer", "minimum": 1.5, "maximum": 5}),
    ("rating", {"type": "integer", "minimum": 1, "maximum": 5.5}),
    ("nps", {"type": "integer", "maximum": 11}),  # from the default minimum of 0
    ("nps", {"type": "integer", "minimum": -1}),  # to the default maximum of 10
    ("nps", {"type": "integer", "minimum": 10}),
])
def test_a_scale_of_more_than_ten_steps_or_none_is_refused(widget: str, schema: dict[str, Any]) -> None:
    error = refused(question("score", {**schema, "x-ui": {"widget": widget}}))
    assert (error.json_path, error.message) == ("$.properties.score", f'a {widget} question is {{"type": "integer"}} '
                                                                       'with "minimum" and "maximum" 1 to 10 apart')


# --- settings -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["opens", "closes"])
def test_a_survey_date_needs_a_time_zone(key: str) -> None:
    error = refused(lambda d: d["x-form"].__setitem__(key, "2030-05-01T09:00:00"))
    assert (error.json_path, error.message) == (f"$.x-form.{key}", "must be a date-time with a time zone, e.g. "
                                                                    "2026-05-01T09:00:00Z")


def test_a_survey_closes_after_it_opens() -> None:
    error = refused(lambda d: d["x-form"].update(opens="2030-05-01T09:00:00Z", closes="2030-05-01T09:00:00Z"))
    assert (error.json_path, error.message) == ("$.x-form.closes", "closes must be later than opens")
    assert accepted(lambda d: d["x-form"].update(opens="2030-05-01T09:00:00Z", closes="2030-05-01T09:00:01Z"))
    assert accepted(lambda d: d["x-form"].update(closes="2030-05-01T09:00:00Z"))


def test_one_response_per_address_needs_the_address_question() -> None:
    error = refused(lambda d: (d["x-form"].pop("respondentEmail"), d["x-form"].__setitem__("onePerEmail", True)))
    assert (error.json_path, error.message) == ("$.x-form.onePerEmail", "onePerEmail needs respondentEmail: the "
                                                                         "question whose answer is the address")
    assert accepted(lambda d: d["x-form"].__setitem__("onePerEmail", True))
    assert accepted(lambda d: (d["x-form"].pop("respondentEmail"), d["x-form"].__setitem__("onePerEmail", False)))


@pytest.mark.parametrize("honeypot, path", [("name", "$.x-form.spam.honeypot"),
                                            (["bot-field", "email"], "$.x-form.spam.honeypot[1]")])
def test_a_honeypot_may_not_be_a_question(honeypot: Any, path: str) -> None:
    error = refused(lambda d: d["x-form"].__setitem__("spam", {"honeypot": honeypot}))
    name = honeypot if isinstance(honeypot, str) else honeypot[1]
    assert (error.json_path, error.message) == (path, f"{name!r} is also a question of the form; a filled honeypot "
                                                      "marks a post as spam, so name a field no person answers")
    assert accepted(lambda d: d["x-form"].__setitem__("spam", {"honeypot": ["bot-field", "website"]}))


@pytest.mark.parametrize("captcha, path, message", [
    ({"provider": "turnstile", "siteKey": "0x4AAAAAAAA", "secretKey": "x"}, "$.x-form.captcha.secretKey",
     "a CAPTCHA secret key never goes in a definition (anyone can read the form's schema): set it in the "
     "deployment's settings, see docs/captcha.md"),
    ({"provider": "hcaptcha", "siteKey": "0x4AAAAAAAA", "minScore": 0.5}, "$.x-form.captcha.minScore",
     "only reCAPTCHA v3 scores a visitor; hcaptcha has no minScore"),
    ({"provider": "recaptcha-v2", "siteKey": "0x4AAAAAAAA", "action": "go"}, "$.x-form.captcha.action",
     "only Turnstile and reCAPTCHA v3 report an action; recaptcha-v2 has none"),
    ({"provider": "hcaptcha", "siteKey": "0x4AAAAAAAA", "action": "go"}, "$.x-form.captcha.action",
     "only Turnstile and reCAPTCHA v3 report an action; hcaptcha has none"),
])
def test_a_captcha_setting_its_provider_cannot_use_is_refused(captcha: dict[str, Any], path: str,
                                                              message: str) -> None:
    error = refused(lambda d: d["x-form"].__setitem__("captcha", captcha))
    assert (error.json_path, error.message) == (path, message)


@pytest.mark.parametrize("captcha", [
    {"provider": "turnstile", "siteKey": "0x4AAAAAAAA", "action": "contact"},
    {"provider": "recaptcha-v3", "siteKey": "0x4AAAAAAAA", "action": "contact", "minScore": 0.7},
])
def test_a_captcha_setting_its_provider_can_use_is_accepted(captcha: dict[str, Any]) -> None:
    assert accepted(lambda d: d["x-form"].__setitem__("captcha", captcha)).settings["captcha"] == captcha


def test_the_first_problem_in_the_settings_is_the_one_named() -> None:
    error = refused(lambda d: d["x-form"].update(retentionDays=0, spam={"minSeconds": -1}))
    assert error.json_path == "$.x-form.retentionDays"
    error = refused(lambda d: d["x-form"].update(locales=["en", "english", "x"]))
    assert error.json_path == "$.x-form.locales[1]"


def test_a_question_named_like_a_control_field_or_not_an_object_is_refused() -> None:
    error = refused(question("_secret", {"type": "string"}))
    assert (error.json_path, error.message) == ("$.properties._secret", "field names starting with '_' are reserved "
                                                                         "for control fields")
    error = refused(question("age", True))
    assert (error.json_path, error.message) == ("$.properties.age", "a question must be an object")


def test_references_inside_lists_are_checked_with_their_index_in_the_path() -> None:
    def all_of(ref: str) -> Callable[[dict[str, Any]], Any]:
        def change(d: dict[str, Any]) -> None:
            d["$defs"] = {"short": {"maxLength": 3}}
            d["properties"]["code"] = {"allOf": [{"type": "string"}, {"$ref": ref}]}
        return change
    assert accepted(all_of("#/$defs/short"))
    error = refused(all_of("#/$defs/long"))
    assert (error.json_path, error.message) == ("$.properties.code.allOf[1].$ref",
                                                "'#/$defs/long' points to nothing in this definition")
    error = refused(question("code", {"type": "string", "maxLength": 9, "format": "regex"}))
    assert error.message == "format 'regex' would compile visitors' text as a regular expression"
