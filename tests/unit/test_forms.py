"""Form definitions: shipped ones load; broken ones are refused with the file and the JSON path named."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import DefinitionError
from chalicelib.forms.definitions import (
    CHECKED_MANIFEST,
    FormRegistry,
    check_folder,
    compile_definition,
    load_definition,
    seal_folder,
)
from formloop_cli.forms import main

ROOT = Path(__file__).resolve().parents[2]
FORMS_DIR = ROOT / "forms"
BAD_DIR = ROOT / "tests" / "bad_definitions"
SHIPPED = sorted(FORMS_DIR.glob("*.json"))

BASE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "sample", "type": "object",
    "additionalProperties": False, "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 100, "x-ui": {"widget": "text"}},
        "email": {"type": "string", "format": "email", "maxLength": 254},
    },
    "x-form": {"kind": "contact", "respondentEmail": "email", "notify": {"to": ["team@example.com"]}},
}


def changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A copy of the sample definition with one change applied."""
    definition = copy.deepcopy(BASE)
    change(definition)
    return definition


def with_pattern(pattern: str) -> dict[str, Any]:
    return changed(lambda d: d["properties"]["name"].__setitem__("pattern", pattern))


def refusal(definition: Any, source: str = "forms/sample.json") -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        compile_definition("sample", definition, source)
    assert str(caught.value).startswith(f"{source}: at {caught.value.json_path}: ")
    return caught.value


def test_forms_folder_is_not_empty() -> None:
    assert {p.stem for p in SHIPPED} >= {"contact", "customer-survey"}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_definition_loads(path: Path) -> None:
    definition = load_definition(path)
    assert definition.id == path.stem
    assert definition.questions and definition.kind in ("contact", "survey")


def test_sample_definition_is_valid() -> None:
    # The broken variants below differ from this one by one change each.
    assert compile_definition("sample", copy.deepcopy(BASE), "forms/sample.json").respondent_email_field == "email"


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str]] = {
    "type-typo": (lambda d: d["properties"]["name"].__setitem__("type", "strin"),
                  "$.properties.name.type", "'strin'"),
    "negative-max-length": (lambda d: d["properties"]["name"].__setitem__("maxLength", -1),
                            "$.properties.name.maxLength", "-1"),
    "required-not-a-list": (lambda d: d.__setitem__("required", "name"), "$.required", "'name'"),
    "x-form-unknown-key": (lambda d: d["x-form"].__setitem__("colour", "red"), "$.x-form", "'colour'"),
    "x-form-bad-kind": (lambda d: d["x-form"].__setitem__("kind", "poll"), "$.x-form.kind", "'poll'"),
    "x-form-missing-kind": (lambda d: d["x-form"].pop("kind"), "$.x-form", "'kind' is a required property"),
    "x-form-bad-notify-email": (lambda d: d["x-form"]["notify"].__setitem__("to", ["ok@example.com", "nobody"]),
                                "$.x-form.notify.to[1]", "'nobody'"),
    "x-form-bad-locale": (lambda d: d["x-form"].__setitem__("locales", ["english"]), "$.x-form.locales[0]",
                          "'english'"),
    "x-form-retention-zero": (lambda d: d["x-form"].__setitem__("retentionDays", 0), "$.x-form.retentionDays", "0"),
    "x-form-missing": (lambda d: d.pop("x-form"), "$", 'missing "x-form"'),
    "respondent-email-missing-property": (lambda d: d["x-form"].__setitem__("respondentEmail", "mail"),
                                          "$.x-form.respondentEmail", "'mail' is not one of the form's properties"),
    "feedback-kind-field-missing-property": (lambda d: d["x-form"].__setitem__("feedbackKindField", "topic"),
                                             "$.x-form.feedbackKindField", "'topic'"),
    "x-ui-unknown-widget": (lambda d: d["properties"]["name"]["x-ui"].__setitem__("widget", "slider"),
                            "$.properties.name.x-ui.widget", "'slider'"),
    "x-ui-unknown-key": (lambda d: d["properties"]["name"]["x-ui"].__setitem__("colour", "red"),
                         "$.properties.name.x-ui", "'colour'"),
    "x-ui-bad-label-language": (lambda d: d["properties"]["name"]["x-ui"].__setitem__("label", {"english": "Name"}),
                                "$.properties.name.x-ui.label", "'english'"),
    "visible-if-not-a-schema": (lambda d: d["properties"]["name"]["x-ui"].__setitem__("visibleIf", {"type": "strin"}),
                                "$.properties.name.x-ui.visibleIf.type", "'strin'"),
    "reserved-field-name": (lambda d: d["properties"].__setitem__("_secret", {"type": "string"}),
                            "$.properties._secret", "reserved"),
    "question-not-an-object": (lambda d: d["properties"].__setitem__("age", True), "$.properties.age",
                               "must be an object"),
    "not-an-object-form": (lambda d: d.__setitem__("type", "array"), "$", '{"type": "object"}'),
    "invalid-regex": (lambda d: d["properties"]["name"].__setitem__("pattern", "[unclosed"),
                      "$.properties.name.pattern", "'[unclosed'"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_definition_names_the_json_path(name: str) -> None:
    change, json_path, fragment = BROKEN[name]
    error = refusal(changed(change))
    assert error.json_path == json_path
    assert fragment in error.message


def test_definition_must_be_an_object() -> None:
    assert refusal(["not", "a", "form"]).json_path == "$"


@pytest.mark.parametrize("pattern", [
    "(a+)+$", "^(a+)+$", "(a*)*", "((ab)*)+", "(a{2,})*", "(?:\\w+\\s?)*$", "(.*a){20}", "^(\\w+[.-]?)*@",
    "(-a+a+)*!",
])
def test_nested_quantifiers_are_refused(pattern: str) -> None:
    error = refusal(with_pattern(pattern))
    assert error.json_path == "$.properties.name.pattern"
    assert "nested quantifiers" in error.message and repr(pattern) in error.message


@pytest.mark.parametrize("pattern", ["(x|x+)+", "(a|a)*$", "(a|ab)*c", "(\\d|\\d\\d)+$", "(.|\\n)*x", "(a|)*"])
def test_overlapping_alternatives_in_a_repetition_are_refused(pattern: str) -> None:
    error = refusal(with_pattern(pattern))
    assert "can match the same text inside a repetition" in error.message and repr(pattern) in error.message


def test_back_references_are_refused() -> None:
    assert "back-references" in refusal(with_pattern("(\\w)\\1")).message


def test_patterns_are_checked_wherever_they_appear() -> None:
    in_items = changed(lambda d: d["properties"].__setitem__(
        "tags", {"type": "array", "items": {"type": "string", "maxLength": 20, "pattern": "(a+)+"}}))
    assert refusal(in_items).json_path == "$.properties.tags.items.pattern"
    as_property_name = changed(lambda d: d.__setitem__("patternProperties", {"(a*)*": {"type": "string"}}))
    assert refusal(as_property_name).json_path == "$.patternProperties.(a*)*"


SAFE_PATTERNS = [
    "^[0-9 +().-]*$", "^\\d{5}(-\\d{4})?$", "^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$", "^(?:[a-z0-9]+)$",
    "^[^@\\s]+@[^@\\s]+$", "(ab)+", "^\\w+$", "^(\\+\\d{1,3})?\\d{4,14}$", "^(yes|no)$", "^[a-z]{2}(-[A-Z]{2})?$",
    # A repeated part with its own delimiter splits one way only.
    "^[a-z]+(-[a-z]+)*$", "^[a-z0-9]+(?:[._-][a-z0-9]+)*$", "^(\\w+\\s)*\\w+$", "^(\\d{3}-)*\\d{4}$",
    "^(cat|dog)+$", "^(\\d{3})+$", "(?i)^(A|a)+$",
]


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_safe_patterns_are_accepted_and_fast(pattern: str) -> None:
    definition = compile_definition("sample", with_pattern(pattern), "forms/sample.json")
    # Whatever a visitor types (within the field's limits), checking it stays instant: a pattern that backtracks
    # catastrophically takes seconds on these (`^(a+)+$` on 25 characters: about 2 s), a safe one microseconds.
    # The bound leaves room for a busy test machine running two workers.
    started = time.perf_counter()
    for hostile in ("a" * 99 + "!", "a-" * 49 + "!", "1" * 99 + "x", "123-" * 24 + "x", "a " * 49 + "!"):
        list(definition.validator.iter_errors({"name": hostile}))
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("max_length, message", [(None, "must be at most 1000 characters."),
                                                 (50, "must be at most 50 characters.")])
def test_patterns_never_run_on_text_longer_than_allowed(max_length: int | None, message: str) -> None:
    # `\\d+$` is quadratic under re.search: 20,000 digits take about 6 s (the bound leaves room for a busy machine).
    definition = compile_definition("sample", changed(lambda d: d["properties"].__setitem__(
        "code", {"type": "string", "pattern": "\\d+$"} | ({"maxLength": max_length} if max_length else {}))),
        "forms/sample.json")
    started = time.perf_counter()
    errors = list(definition.validator.iter_errors({"name": "Ann", "code": "1" * 20_000 + "x"}))
    assert time.perf_counter() - started < 1.0
    assert [(e.validator, e.validator_value) for e in errors] == [("maxLength", max_length or 1000)]
    from chalicelib.forms.answers import validate
    assert [(e.field, e.message) for e in validate(definition, {"name": "Ann", "code": "1" * 20_000})] == [
        ("code", message)]
    assert validate(definition, {"name": "Ann", "code": "12x"})[0].message == (
        "contains characters that are not allowed here.")


def test_id_must_match_the_file_name() -> None:
    error = _load_refusal(BAD_DIR / "wrong-id.json")
    assert error.json_path == "$.$id"
    assert "'contact'" in error.message and "'wrong-id'" in error.message


def test_duplicate_keys_are_refused() -> None:
    error = _load_refusal(BAD_DIR / "duplicate-keys.json")
    assert error.json_path == "$" and "duplicate key 'name'" in error.message


def test_invalid_json_is_refused_with_the_position() -> None:
    error = _load_refusal(BAD_DIR / "not-json.json")
    assert "not valid JSON" in error.message and "line 4" in error.message


def test_file_name_must_be_a_form_id(tmp_path: Path) -> None:
    path = tmp_path / "Contact Us.json"
    path.write_text(json.dumps(BASE | {"$id": "Contact Us"}))
    assert "file names must be lower-case" in _load_refusal(path).message


def _load_refusal(path: Path) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert caught.value.source == str(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_registry_answers_none_for_ids_outside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sample.json").write_text(json.dumps(BASE))
    registry = FormRegistry(tmp_path)
    assert registry.get("sample") is not None
    for form_id in ("../sample", "Sample", "sample.json", "", "s" * 65, "sample\x00"):
        assert registry.get(form_id) is None, form_id


def test_check_folder_reports_every_broken_file() -> None:
    errors = check_folder(BAD_DIR)
    assert sorted(Path(e.source).name for e in errors) == sorted(p.name for p in BAD_DIR.glob("*.json"))
    assert check_folder(FORMS_DIR) == []


def test_sealing_a_folder_with_a_broken_definition_vouches_for_nothing(tmp_path: Path) -> None:
    shutil.copytree(BAD_DIR, tmp_path, dirs_exist_ok=True)
    shutil.copy(FORMS_DIR / "contact.json", tmp_path / "contact.json")
    assert len(seal_folder(tmp_path)) == len(list(BAD_DIR.glob("*.json")))
    assert not (tmp_path / CHECKED_MANIFEST).exists()


def test_a_sealed_definition_changed_afterwards_is_refused_on_load(tmp_path: Path) -> None:
    shutil.copy(FORMS_DIR / "contact.json", tmp_path / "contact.json")
    assert seal_folder(tmp_path) == []
    assert FormRegistry(tmp_path).get("contact") is not None
    broken = json.loads((tmp_path / "contact.json").read_text())
    broken["properties"]["message"]["maxLength"] = -1
    (tmp_path / "contact.json").write_text(json.dumps(broken))
    with pytest.raises(DefinitionError, match=r"maxLength"):
        FormRegistry(tmp_path).get("contact")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FORMS_DIR)]) == 0
    assert f"{len(SHIPPED)} of {len(SHIPPED)} definitions OK" in capsys.readouterr().out
    assert main([str(BAD_DIR)]) == 1
    report = capsys.readouterr()
    assert "evil-pattern.json: at $.properties.code.pattern" in report.err
    assert "0 of 4 definitions OK" in report.out
    assert main([str(tmp_path)]) == 1
    assert "no form definitions" in capsys.readouterr().err


def test_cli_runs_as_the_formloop_command() -> None:
    formloop = str(Path(sys.executable).parent / "formloop")  # the console script `make setup` installs
    good = subprocess.run([formloop, "check-forms", str(FORMS_DIR)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    bad = subprocess.run([formloop, "check-forms", str(BAD_DIR)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert (good.returncode, bad.returncode) == (0, 1)
    assert "wrong-id.json" in bad.stderr


def test_makefile_has_check_forms_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\ncheck-forms:" in makefile
    recipe = makefile.split("\ncheck-forms:", 1)[1].split("\n\n", 1)[0]
    assert "$(FORMLOOP) check-forms forms" in recipe


@pytest.mark.parametrize("change, json_path, fragment", [
    (lambda d: d["properties"].__setitem__("x", {"$ref": "https://example.com/schema.json"}),
     "$.properties.x.$ref", "refers to another document"),
    (lambda d: d["properties"].__setitem__("x", {"$ref": "other.json#/a"}), "$.properties.x.$ref", "another document"),
    (lambda d: d["properties"].__setitem__("x", {"$ref": "#/$defs/missing"}), "$.properties.x.$ref",
     "points to nothing"),
    (lambda d: d["properties"].__setitem__("x", {"$ref": "#anchor"}), "$.properties.x.$ref", "points to nothing"),
    (lambda d: d["properties"].__setitem__("x", {"type": "string", "maxLength": 9, "format": "regex"}),
     "$.properties.x.format", "compile visitors' text"),
    (lambda d: d["properties"]["email"].__setitem__("x-ui", {"visibleIf": {"$ref": "#/properties/name"}}),
     "$.properties.email.x-ui.visibleIf", "cannot use $ref"),
])
def test_keywords_that_would_fail_per_request_are_refused_at_load(
    change: Callable[[dict[str, Any]], Any], json_path: str, fragment: str,
) -> None:
    # Without this, the first visitor's post would meet an unresolvable reference (a 500).
    error = refusal(changed(change))
    assert error.json_path == json_path and fragment in error.message


def test_local_references_are_accepted_and_used() -> None:
    definition = compile_definition("sample", changed(lambda d: (
        d.__setitem__("$defs", {"short": {"type": "string", "maxLength": 3}}),
        d["properties"].__setitem__("code", {"$ref": "#/$defs/short"}))), "forms/sample.json")
    assert [e.validator for e in definition.validator.iter_errors({"name": "Ann", "code": "toolong"})] == ["maxLength"]
