"""`formloop import-surveyjs`: every supported question type and operator converted, checked, and behaving."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.errors import InvalidSubmissionError
from chalicelib.forms.definitions import FormDefinition, load_definition
from chalicelib.intake.service import SubmitRequest
from formloop_cli.import_surveyjs import convert_survey, main
from formloop_cli.importing import ImportReport
from formloop_cli.surveyjs_expressions import Answer, ExpressionError, compile_condition, parse
from tests.unit.importer_support import FIXTURES, FORM_POST, post_json, services_for, stored, write_checked

SURVEY = json.loads((FIXTURES / "survey.json").read_text(encoding="utf-8"))
NOT_CONVERTED = [
    ("about-you", "page title"), ("product", "page title"), ("follow-ups", "panel title (a section heading)"),
    ("site", "setting enableIf"), ("divider", "html question"), ("screenshot", "file question"),
    ("bday", "visibleIf 'age({visited}) > 1'"), ("same_number", "visibleIf '{age} = {nps}'"),
]
# Answers every post starts from: the required questions, and a product so the follow-ups panel shows.
BASE = {"email": "ann@example.com", "product": "app", "nps": 9}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], ImportReport]:
    forms = tmp_path_factory.mktemp("surveyjs") / "forms"
    definition, report = convert_survey(SURVEY, "customer-survey")
    return forms, write_checked(definition, "customer-survey", report, forms), report


@pytest.fixture(scope="module")
def form(converted: tuple[Path, dict[str, Any], ImportReport]) -> FormDefinition:
    return load_definition(converted[0] / "customer-survey.json")


def test_what_cannot_be_converted_is_listed_exactly(converted: tuple[Path, dict[str, Any], ImportReport]) -> None:
    _, _, report = converted
    assert [(gap.name, gap.what) for gap in report.gaps] == NOT_CONVERTED
    assert dict((gap.name, gap.why) for gap in report.gaps)["bday"] == \
        "the function age() has no equivalent in a condition"


def test_every_supported_type_becomes_its_formloop_question(
        converted: tuple[Path, dict[str, Any], ImportReport]) -> None:
    _, definition, report = converted
    widgets = {g.name: g.type for g in report.guesses}
    assert [widgets[n] for n in ("name", "email", "age", "visited", "phone", "site", "product", "plan", "features",
                                 "recommend", "satisfaction", "nps", "agreement", "app_feedback")] == [
        "text", "email", "number", "date", "tel", "url", "radio", "select", "checkboxes", "radio", "rating", "nps",
        "likert", "textarea"]
    props = definition["properties"]
    assert props["email"]["format"] == "email" and props["visited"]["format"] == "date"
    assert (props["age"]["type"], props["age"]["minimum"], props["age"]["maximum"]) == ("number", 16, 120)
    assert props["name"]["x-ui"]["label"] == {"en": "Your name", "ru": "Ваше имя"}
    assert props["name"]["x-ui"]["placeholder"] == "Ann Lee" and props["name"]["maxLength"] == 100
    assert props["product"]["enum"] == ["app", "website", "store"]
    assert props["product"]["x-ui"]["choices"]["app"] == {"en": "Mobile app", "ru": "Приложение"}
    assert props["features"] == props["features"] | {"type": "array", "items": {
        "enum": ["search", "checkout", "tracking", "reviews"]}, "uniqueItems": True, "maxItems": 3}
    assert props["recommend"]["enum"] == [True, False]
    assert props["satisfaction"] | {"x-ui": None} == {"type": "integer", "minimum": 1, "maximum": 5,
                                                      "title": "How satisfied are you?", "x-ui": None}
    assert props["satisfaction"]["x-ui"]["scale"] == {"1": "Not at all", "5": "Very"}
    assert (props["nps"]["minimum"], props["nps"]["maximum"]) == (0, 10)
    assert props["agreement"]["properties"] == {"easy": {"type": "integer", "enum": [1, 2, 3]},
                                                "fast": {"type": "integer", "enum": [1, 2, 3]}}
    assert props["agreement"]["x-ui"]["rows"] == {"easy": "It is easy to use", "fast": "It is fast"}
    assert definition["required"] == ["email", "product", "nps"]
    assert definition["x-form"] == {"kind": "survey", "locales": ["en", "ru"],
                                    "title": {"en": "Customer survey", "ru": "Опрос клиентов"},
                                    "description": "Five minutes, and it helps a lot.",
                                    "thanks": "Thank you! We read every answer."}


SHOWN = [
    # question, answers besides BASE, shown?  (one row per operator and per side of it)
    ("teen_note", {"age": 17}, True), ("teen_note", {"age": 18}, False), ("teen_note", {}, False),
    ("adult_note", {"age": 18}, True), ("adult_note", {"age": 64}, True), ("adult_note", {"age": 65}, False),
    ("senior_note", {"age": 65}, True), ("senior_note", {"age": 64}, False),
    ("young_note", {"age": 29}, True), ("young_note", {"age": 30}, False),
    ("app_feedback", {}, True), ("app_feedback", {"product": "store"}, False),
    ("not_app", {"product": "store"}, True), ("not_app", {}, False),
    ("search_feedback", {"features": ["search"]}, True), ("search_feedback", {"features": ["tracking"]}, False),
    ("no_search", {"features": ["tracking"]}, True), ("no_search", {}, True),
    ("no_search", {"features": ["search"]}, False),
    ("paid", {"plan": "plus"}, True), ("paid", {"plan": "free"}, False), ("paid", {}, False),
    ("power_user", {"features": ["checkout", "tracking", "search"]}, True),
    ("power_user", {"features": ["search"]}, False),
    ("no_shopping", {"features": ["search"]}, True), ("no_shopping", {"features": ["search", "checkout"]}, False),
    ("why_not", {"recommend": False}, True), ("why_not", {"recommend": True, "nps": 5, "plan": "free"}, True),
    ("why_not", {"recommend": True, "nps": 5}, False), ("why_not", {"nps": 9, "plan": "free"}, False),
    ("plan_missing", {}, True), ("plan_missing", {"plan": "free"}, False),
    ("hard_to_use", {"agreement": {"easy": 1}}, True), ("hard_to_use", {"agreement": {"easy": 2}}, False),
    ("name_check", {"name": "Ann Lee"}, True), ("name_check", {"name": "Bob"}, False),
    ("bday", {}, True),  # its condition was not converted (listed): the question always shows
]


@pytest.mark.parametrize(("question", "answers", "shown"), SHOWN)
def test_each_condition_shows_its_question_exactly_when_surveyjs_would(
        form: FormDefinition, question: str, answers: dict[str, Any], shown: bool) -> None:
    assert form.shown(question, BASE | answers) is shown


def test_the_follow_ups_panel_hides_with_its_condition(form: FormDefinition) -> None:
    assert not form.shown("app_feedback", {"email": "ann@example.com", "nps": 9})


def test_answers_to_hidden_questions_are_dropped_and_shown_ones_kept(
        converted: tuple[Path, dict[str, Any], ImportReport]) -> None:
    services = services_for(converted[0])
    answers = BASE | {"age": 17, "teen_note": "Mum agrees", "senior_note": "not for me", "features": ["search"],
                      "search_feedback": "fast", "no_search": "hidden", "recommend": False, "why_not": "price",
                      "agreement": {"easy": 3, "fast": 2}, "satisfaction": 4}
    submission = stored(services, post_json(services, "customer-survey", answers))
    assert submission.answers == {key: value for key, value in answers.items()
                                  if key not in ("senior_note", "no_search")}


def test_the_hosted_page_post_of_a_yes_no_question_is_a_boolean(
        converted: tuple[Path, dict[str, Any], ImportReport]) -> None:
    services = services_for(converted[0])
    body = urlencode([("email", "ann@example.com"), ("product", "app"), ("nps", "9"), ("recommend", "False"),
                      ("why_not", "The price"), ("agreement.easy", "1"), ("satisfaction", "3")]).encode()
    submission = stored(services, services.submissions.submit(SubmitRequest("customer-survey", body, FORM_POST)))
    assert submission.answers == {"email": "ann@example.com", "product": "app", "nps": 9, "recommend": False,
                                  "why_not": "The price", "agreement": {"easy": 1}, "satisfaction": 3}


def test_required_if_requires_only_while_true_and_shown(converted: tuple[Path, dict[str, Any], ImportReport]) -> None:
    services = services_for(converted[0])
    with pytest.raises(InvalidSubmissionError) as caught:
        post_json(services, "customer-survey", BASE | {"nps": 5})
    assert [e.field for e in caught.value.errors] == ["detractor_reason"]
    answered = post_json(services, "customer-survey", BASE | {"nps": 5, "detractor_reason": "slow"})
    assert stored(services, answered).answers["detractor_reason"] == "slow"
    with pytest.raises(InvalidSubmissionError) as caught:
        post_json(services, "customer-survey", BASE | {"satisfaction": 1, "agreement": {"easy": 1}})
    assert [e.field for e in caught.value.errors] == ["hard_to_use"]
    # Hidden (the first row is not 1), so not required even though satisfaction is low.
    hidden = post_json(services, "customer-survey", BASE | {"satisfaction": 1, "agreement": {"easy": 2}})
    assert stored(services, hidden).answers == BASE | {"satisfaction": 1, "agreement": {"easy": 2}}


# --- the expression language ----------------------------------------------------------------------------------------

ANSWERS = {"q": Answer(("q",), "string"), "n": Answer(("n",), "integer"), "c": Answer(("c",), "array-string"),
           "b": Answer(("b",), "boolean"), "m.r": Answer(("m", "r"), "integer")}


@pytest.mark.parametrize(("expression", "answers", "expected"), [
    ("{q} == 'a' && {n} greater 2", {"q": "a", "n": 3}, True),
    ("{q} equal 'a' || {n} less 2", {"q": "b", "n": 3}, False),
    ("{q} <> 'a'", {"q": "b"}, True), ("{q} notequal \"a\"", {}, True),
    ("{n} => 3 and {n} =< 4", {"n": 4}, True), ("{n} greaterorequal 5", {"n": 4}, False),
    ("{n} = '7'", {"n": 7}, True), ("-1 < {n}", {"n": 0}, True), ("{n} > 0.5", {"n": 1}, True),
    ("{q} *= 'it\\'s'", {"q": "so it's"}, True), ("{q} contains 'a.b'", {"q": "xa.by"}, True),
    ("{q} contains 'a.b'", {"q": "xazby"}, False), ("{c} = ['x', 'y']", {"c": ["y", "x"]}, True),
    ("{c} = ['x']", {"c": ["y", "x"]}, False), ("{c} empty", {"c": []}, True), ("{c} notempty", {"c": []}, False),
    ("{b}", {"b": True}, True), ("{b} = 'false'", {"b": False}, True), ("{q} = null", {}, True),
    ("!{q} = 'a' and {n} = 1", {"q": "a", "n": 2}, True),  # `!` negates all that follows it
    ("(!{q} = 'a') and {n} = 1", {"q": "a", "n": 2}, False),
    ("{q} anyof ['a', 'b']", {"q": "b"}, True), ("{q} noneof ['a', 'b']", {"q": "c"}, True),
    ("{m.r} >= 4", {"m": {"r": 5}}, True), ("({n} = 1 or {n} = 2) and {q} = 'a'", {"n": 2, "q": "a"}, True),
])
def test_expressions_compile_to_conditions_that_agree_with_surveyjs(
        expression: str, answers: dict[str, Any], expected: bool) -> None:
    from chalicelib.forms.definitions import form_validator

    condition = compile_condition(expression, ANSWERS)
    assert form_validator(condition).is_valid(answers) is expected


@pytest.mark.parametrize(("expression", "why"), [
    ("age({q}) > 3", "the function age() has no equivalent"), ("{q} = {n}", "comparing two questions"),
    ("{n} + 1 > 3", "arithmetic"), ("{x} = 1", "{x} is not a converted question"),
    ("{q} < 'b'", "compares numbers only"), ("1 < {n} < 3", "chained comparisons"), ("{q} = ", "ends too early"),
    ("{q} = 'a' )", "unexpected ')'"), ("{q} # 1", "cannot read '# 1'"),
])
def test_what_a_condition_cannot_express_is_refused_with_the_reason(expression: str, why: str) -> None:
    with pytest.raises(ExpressionError, match=why.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        compile_condition(expression, ANSWERS)


def test_parsing_follows_surveyjs_precedence() -> None:
    tree = parse("{a} = 1 or {b} = 2 and {c} contains 'x'")
    assert (tree.kind, tree.value) == ("logic", "or")
    assert (tree.items[1].kind, tree.items[1].value) == ("logic", "and")
    assert tree.items[1].items[1].value == "contains"


# --- the command ----------------------------------------------------------------------------------------------------

def test_the_installed_command_converts_a_survey(tmp_path: Path) -> None:
    formloop = Path(sys.executable).parent / "formloop"
    done = subprocess.run([str(formloop), "import-surveyjs", str(FIXTURES / "survey.json"), "--form-id", "feedback"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "  nps               nps        required  SurveyJS rating" in done.stdout
    assert "  divider: html question — a text block" in done.stdout
    assert (tmp_path / "forms" / "feedback.json").is_file()
    again = subprocess.run([str(formloop), "import-surveyjs", str(FIXTURES / "survey.json"), "--form-id", "feedback"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "exists; pass --force" in again.stderr


def test_a_file_that_is_not_a_survey_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2", encoding="utf-8")
    assert main([str(broken), "--forms-dir", str(tmp_path)]) == 1
    assert "is not JSON we can read" in capsys.readouterr().err
    broken.write_text("[]", encoding="utf-8")
    assert main([str(broken), "--forms-dir", str(tmp_path)]) == 1
    assert main([str(FIXTURES / "survey.json"), "--form-id", "Bad Id", "--forms-dir", str(tmp_path)]) == 2


def test_a_malformed_survey_is_reported_question_by_question_never_a_crash(tmp_path: Path) -> None:
    survey = {"pages": [{"elements": [
        {"type": "radiogroup", "name": "broken_choices", "choices": 5},
        {"type": "rating", "name": "broken_rating", "rateMin": "x"},
        "not a question",
        {"type": "text", "name": "ok", "visibleIf": "{ok} contains '(a+)+$'"},
    ]}, "not a page"]}
    definition, report = convert_survey(survey, "broken")
    assert [(gap.name, gap.what) for gap in report.gaps] == [
        ("not a question", "malformed element"), ("page 2", "malformed page"),
        ("broken_choices", "radiogroup question"), ("broken_rating", "rating question")]
    # Text in a condition is matched literally, never run as a pattern of its own.
    assert definition["properties"]["ok"]["x-ui"]["visibleIf"]["properties"]["ok"] == {
        "allOf": [{"pattern": r"\(a\+\)\+\$"}]}
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert main([str(deep), "--forms-dir", str(tmp_path)]) == 1
