"""Form definitions as Formloop loads and serves them: the public schema a site may read, the forms a folder holds,
the registry's answers for ids and edited files, labels in each language, and what a definition says about its
questions (which are one line, which are shown, what kind of feedback a post is)."""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import DefinitionError, NotFoundError
from chalicelib.forms.definitions import (
    FormDefinition,
    FormRegistry,
    compile_definition,
    load_definition,
    localized,
    parse_instant,
    read_manifest,
)

SECRET_SETTINGS = {"notify": {"to": ["team@example.com"]}, "spam": {"honeypot": "_trap", "perIpPerHour": 3},
                   "respondentEmail": "email", "retentionDays": 30}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["email", "reason"],
    "properties": {
        "email": {"type": "string", "format": "email", "x-ui": {"label": {"en": "Email", "fr": "Courriel"}}},
        "topic": {"type": "string", "enum": ["idea", "complaint"]},
        "reason": {"type": "string", "x-ui": {"widget": "textarea", "visibleIf": {
            "properties": {"topic": {"const": "complaint"}}, "required": ["topic"]}}},
    },
    "x-form": {"kind": "survey", "locales": ["en", "fr"], "title": {"en": "Pulse", "fr": "Pouls"},
               "description": "Two questions", "submitLabel": "Send", "thanks": "Thanks",
               "opens": "2030-01-01T00:00:00Z", "closes": "2031-01-01T00:00:00Z", **SECRET_SETTINGS},
}


def definition(**settings: Any) -> FormDefinition:
    schema = copy.deepcopy(SCHEMA)
    schema["x-form"].update(settings)
    return compile_definition("pulse", schema, "forms/pulse.json")


def write(folder: Path, name: str, schema: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


# --- the public schema -------------------------------------------------------------------------------------------

def test_the_public_schema_keeps_presentation_and_drops_addresses_and_spam_rules() -> None:
    public = definition().public_schema()
    assert public["x-form"] == {"kind": "survey", "locales": ["en", "fr"], "title": {"en": "Pulse", "fr": "Pouls"},
                                "description": "Two questions", "submitLabel": "Send", "thanks": "Thanks",
                                "opens": "2030-01-01T00:00:00Z", "closes": "2031-01-01T00:00:00Z"}
    assert "team@example.com" not in json.dumps(public) and "_trap" not in json.dumps(public)
    assert public["properties"]["email"]["x-ui"]["label"]["fr"] == "Courriel"


def test_the_public_schema_is_the_compiled_one_a_client_can_check_answers_with() -> None:
    public = definition().public_schema()
    assert public["required"] == ["email"]  # `reason` is required only while it is shown
    assert public["allOf"] == [{"if": SCHEMA["properties"]["reason"]["x-ui"]["visibleIf"],
                                "then": {"required": ["reason"]}}]


def test_the_public_schema_of_a_plain_form_names_only_its_kind() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "x-form": {"kind": "contact"}}
    assert compile_definition("plain", schema, "forms/plain.json").public_schema()["x-form"] == {"kind": "contact"}


def test_changing_the_public_schema_changes_nothing_of_the_form() -> None:
    form = definition()
    public = form.public_schema()
    public["x-form"]["title"]["en"] = "Changed"
    public["properties"]["email"]["type"] = "integer"
    public["required"].append("topic")
    assert form.settings["title"]["en"] == "Pulse" and form.settings["notify"] == SECRET_SETTINGS["notify"]
    assert form.validation_schema["properties"]["email"]["type"] == "string"
    assert form.public_schema() == definition().public_schema()


# --- the forms of a folder and the registry --------------------------------------------------------------------

def test_the_registry_lists_the_forms_of_its_folder_sorted(tmp_path: Path) -> None:
    for name in ("survey-b.json", "contact.json", "Upper.json", "_draft.json", "notes.txt", "a-1.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert FormRegistry(tmp_path).ids() == ["a-1", "contact", "survey-b"]
    assert FormRegistry(tmp_path / "missing").ids() == []


def test_an_unknown_form_is_a_404_that_says_what_to_check(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        FormRegistry(tmp_path).require("contact")
    assert caught.value.message == "There is no form with this address; check the form's name or action URL."
    assert caught.value.STATUS_CODE == 404


def test_a_folder_named_like_a_form_is_no_form(tmp_path: Path) -> None:
    (tmp_path / "contact.json").mkdir()
    assert FormRegistry(tmp_path).get("contact") is None


def test_without_watching_a_form_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path, "pulse.json", SCHEMA)
    registry = FormRegistry(tmp_path)
    first = registry.require("pulse")
    path.unlink()
    assert registry.require("pulse") is first


def test_watching_reads_an_edited_form_again_and_forgets_a_deleted_one(tmp_path: Path) -> None:
    path = write(tmp_path, "pulse.json", SCHEMA)
    registry = FormRegistry(tmp_path, watch=True)
    first = registry.require("pulse")
    assert registry.require("pulse") is first  # unchanged: not read again
    edited = copy.deepcopy(SCHEMA)
    edited["x-form"]["title"] = "Pulse, edited"
    write(tmp_path, "pulse.json", edited)
    os.utime(path, ns=(1, 1))  # a stamp of its own, whatever the file system's clock resolution
    assert registry.require("pulse").title("en") == "Pulse, edited"
    path.unlink()
    assert registry.get("pulse") is None
    write(tmp_path, "pulse.json", SCHEMA)
    assert registry.require("pulse").title("en") == "Pulse"


def test_the_manifest_names_the_checked_files(tmp_path: Path) -> None:
    (tmp_path / "checked.sha256").write_text("abc  contact.json\ndef  pulse.json\nnot a line\n", encoding="utf-8")
    assert read_manifest(tmp_path) == {"contact.json": "abc", "pulse.json": "def"}
    assert read_manifest(tmp_path / "missing") == {}


def test_a_definition_whose_id_is_not_its_file_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "pulse.json", {**SCHEMA, "$id": "other"})
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert caught.value.json_path == "$.$id"
    assert "'other' must match the file name 'pulse'" in str(caught.value)
    assert load_definition(write(tmp_path, "pulse.json", {**SCHEMA, "$id": "pulse"})).id == "pulse"


# --- labels and what a definition says ---------------------------------------------------------------------------

def test_a_label_is_read_in_the_language_then_its_base_then_english_then_any() -> None:
    label = {"fr": "Courriel", "en": "Email", "pt-BR": "E-mail"}
    assert localized(label, "fr") == "Courriel"
    assert localized(label, "fr-CA") == "Courriel"
    assert localized(label, "pt-BR") == "E-mail"
    assert localized(label, "de") == "Email"
    assert localized(label, None) == "Email"
    assert localized({"de": "Name"}, "fr") == "Name"
    assert localized({}, "fr", "fallback") == "fallback"
    assert localized(None, "fr", "fallback") == "fallback"
    assert localized("Plain", "fr", "fallback") == "Plain"
    assert localized(7, "fr", "fallback") == "fallback"
    assert localized(None, "fr") == "" and localized({}, None) == ""


def test_a_question_s_label_falls_back_to_its_title_then_its_name() -> None:
    form = definition()
    assert [form.question(name).label("fr") for name in ("email", "topic")] == ["Courriel", "topic"]  # type: ignore[union-attr]
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["topic"]["title"] = "Topic"
    assert compile_definition("pulse", schema, "p").question("topic").label("fr") == "Topic"  # type: ignore[union-attr]
    assert form.question("nothing") is None


def test_a_form_s_title_falls_back_to_the_schema_s_then_its_id() -> None:
    assert definition().title("fr") == "Pouls"
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "x-form": {"kind": "contact"}}
    assert compile_definition("plain", schema, "p").title("en") == "plain"
    assert compile_definition("plain", {**schema, "title": "Say hello"}, "p").title("en") == "Say hello"


def test_locales_default_to_english() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "x-form": {"kind": "contact"}}
    assert compile_definition("plain", schema, "p").locales == ["en"]
    assert definition().locales == ["en", "fr"]


def test_which_answers_may_hold_line_breaks() -> None:
    schema = {"type": "object", "x-form": {"kind": "contact", "respondentEmail": "reach"}, "properties": {
        "reach": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "message": {"type": "string", "x-ui": {"widget": "textarea"}},
        "note": {"type": "string"},
        "name": {"type": "string", "x-ui": {"widget": "text"}},
        "phone": {"type": "string", "x-ui": {"widget": "tel"}},
        "site": {"type": "string", "x-ui": {"widget": "url"}},
        "mail": {"type": "string", "x-ui": {"widget": "email"}},
        "code": {"type": "string", "x-ui": {"singleLine": True}},
        "free": {"type": "string", "x-ui": {"widget": "text", "singleLine": False}},
        "roles": {"type": "array", "items": {"type": "string"}},
    }}
    assert compile_definition("lines", schema, "p").free_text_fields == frozenset({"message", "note", "free"})


def test_the_honeypots_a_form_names() -> None:
    assert definition().honeypots == ("_trap",) and definition().honeypot == "_trap"
    both = definition(spam={"honeypot": ["bot-field", "website"]})
    assert both.honeypots == ("bot-field", "website") and both.honeypot == "bot-field"
    assert definition(spam={"minSeconds": 3}).honeypots == ("_gotcha",)


def test_the_kind_of_feedback_is_the_answer_when_it_names_one_else_the_form_s() -> None:
    schema = copy.deepcopy(SCHEMA)
    schema["x-form"].update(feedbackKindField="topic", feedbackKind="question")
    form = compile_definition("pulse", schema, "p")
    assert form.feedback_kind({"topic": "complaint"}) == "complaint"
    assert form.feedback_kind({"topic": "other"}) == "question"
    assert form.feedback_kind({}) == "question"
    assert definition().feedback_kind({"topic": "idea"}) is None


def test_a_conditional_question_is_shown_only_when_its_condition_holds() -> None:
    form = definition()
    assert form.shown("reason", {"topic": "complaint"}) and not form.shown("reason", {"topic": "idea"})
    assert form.shown("email", {})
    answers = {"email": "a@example.com", "topic": "idea", "reason": "hidden"}
    assert form.visible_answers(answers) == {"email": "a@example.com", "topic": "idea"}


def test_opens_and_closes_need_a_time_zone() -> None:
    assert parse_instant("2030-01-01T09:00:00z") == parse_instant("2030-01-01T09:00:00+00:00")
    assert parse_instant("2030-01-01T09:00:00Z") is not None
    assert parse_instant("2030-01-01T09:00:00") is None
    assert parse_instant("soon") is None and parse_instant(None) is None and parse_instant(20300101) is None


# --- a sealed folder ----------------------------------------------------------------------------------------------

def test_a_sealed_form_ships_a_compiled_check_for_its_answers_and_each_condition(tmp_path: Path) -> None:
    from chalicelib.forms.definitions import seal_folder
    from chalicelib.forms.fastcheck import loads_checks

    write(tmp_path, "pulse.json", SCHEMA)
    assert seal_folder(tmp_path) == []
    shipped = loads_checks((tmp_path / "pulse.checks").read_bytes())
    assert shipped is not None and set(shipped) == {"sha256", "validation", "visibleIf:reason"}
    assert shipped["validation"] is not None and shipped["visibleIf:reason"] is not None
    form = FormRegistry(tmp_path).require("pulse")
    assert form.shipped_checks is not None
    check = form.fast_check
    assert check is not None
    assert check({"email": "ann@example.com"}) is True
    assert check({"email": "ann@example.com", "topic": "complaint"}) is False  # the reason is required while shown
    assert check({"topic": "idea"}) is False
    assert form.shown("reason", {"topic": "complaint"}) and not form.shown("reason", {"topic": "idea"})


def test_checks_sealed_for_other_bytes_are_not_used(tmp_path: Path) -> None:
    from chalicelib.forms.definitions import seal_folder

    write(tmp_path, "pulse.json", SCHEMA)
    other = copy.deepcopy(SCHEMA)
    other["x-form"]["title"] = "Other"
    write(tmp_path, "other.json", other)
    assert seal_folder(tmp_path) == []
    (tmp_path / "pulse.checks").write_bytes((tmp_path / "other.checks").read_bytes())  # a stale or copied file
    form = FormRegistry(tmp_path).require("pulse")
    assert form.shipped_checks is None
    assert form.fast_check is not None and form.fast_check({"topic": "complaint", "email": "a@example.com"}) is False
