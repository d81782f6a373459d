"""The hosted form page, rendered from each definition in forms/: it must agree with the schema."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib.core.errors import FieldError
from chalicelib.forms.answers import coerce
from chalicelib.forms.definitions import FormDefinition, load_definition
from chalicelib.pages import rendering

FORMS = sorted((Path(__file__).resolve().parents[2] / "forms").glob("*.json"))


class Page(HTMLParser):
    """The parts of a rendered page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []
        self.labels: dict[str, str] = {}
        self.ids: dict[str, dict[str, str]] = {}
        self.fieldsets: list[dict[str, Any]] = []
        self._open_fieldsets: list[dict[str, Any]] = []
        self._select: dict[str, str] | None = None
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] = {"tag": tag, **a}
        if tag == "fieldset":
            fieldset = {"attrs": a, "legend": False, "inputs": []}
            self.fieldsets.append(fieldset)
            self._open_fieldsets.append(fieldset)
        elif tag == "legend" and self._open_fieldsets:
            self._open_fieldsets[-1]["legend"] = True
        elif tag in ("input", "textarea"):
            self.inputs.append({"tag": tag, **a})
            for fieldset in self._open_fieldsets:
                fieldset["inputs"].append(a)
        elif tag == "select":
            self._select = {"tag": "select", **a, "options": ""}
            self.inputs.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"] += a.get("value", "") + "\n"
        elif tag == "label":
            self._label_for = a.get("for")
            self._label_text = []

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._label_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self._open_fieldsets.pop()
        elif tag == "select":
            self._select = None
        elif tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = "".join(self._label_text).strip()
            self._label_for = None

    def answer_inputs(self, definition: FormDefinition) -> list[dict[str, str]]:
        """Inputs that carry answers (not the control fields nor the honeypot)."""
        return [i for i in self.inputs if not i.get("name", "").startswith("_")]


def page_of(definition: FormDefinition, language: str = "en", **kwargs: Any) -> Page:
    return Page(rendering.render_form(definition, language, action=definition.id, **kwargs))


def property_schema(definition: FormDefinition, name: str) -> dict[str, Any] | None:
    """The schema an input name answers: a property, or a row of a matrix (`question.row`)."""
    properties = definition.schema["properties"]
    if name in properties:
        return properties[name]
    top, _, row = name.partition(".")
    parent = properties.get(top)
    if parent and parent.get("type") == "object":
        return parent.get("properties", {}).get(row)
    return None


@pytest.fixture(params=FORMS, ids=[p.stem for p in FORMS])
def definition(request: pytest.FixtureRequest) -> FormDefinition:
    return load_definition(request.param)


def test_every_input_name_maps_to_a_property(definition: FormDefinition) -> None:
    page = page_of(definition)
    for element in page.answer_inputs(definition):
        assert property_schema(definition, element["name"]) is not None, element["name"]


def test_every_property_has_an_input(definition: FormDefinition) -> None:
    names = {i["name"] for i in page_of(definition).answer_inputs(definition)}
    for name, schema in definition.schema["properties"].items():
        if schema.get("type") == "object":
            for row in schema["properties"]:
                assert f"{name}.{row}" in names, f"{name}.{row}"
        else:
            assert name in names, name


def test_every_choice_is_a_value_the_schema_accepts(definition: FormDefinition) -> None:
    """A choice's value, posted and coerced as Formloop does, satisfies its property (so no choice is a trap)."""
    page = page_of(definition)
    checked = 0
    for element in page.answer_inputs(definition):
        name = element["name"]
        values = ([v for v in element["options"].split("\n") if v] if element["tag"] == "select"
                  else [element["value"]] if element.get("type") in ("radio", "checkbox") else [])
        for value in values:
            answers = coerce(definition, {name: [value]}, from_form=True)
            top = name.split(".")[0]
            schema = definition.schema["properties"][top]
            assert Draft202012Validator(schema).is_valid(answers[top]) or schema.get("type") == "object", (name, value)
            if schema.get("type") == "object":
                row = name.split(".")[1]
                assert Draft202012Validator(schema["properties"][row]).is_valid(answers[top][row]), (name, value)
            checked += 1
    enum_values = 0
    for schema in definition.schema["properties"].values():
        enum_values += len(schema.get("enum", [])) + len(schema.get("items", {}).get("enum", []))
    assert checked >= enum_values  # and every enum value was offered: see the next test


def test_every_enum_value_is_offered(definition: FormDefinition) -> None:
    page = page_of(definition)
    offered: dict[str, set[str]] = {}
    for element in page.answer_inputs(definition):
        values = element["options"].split("\n") if element["tag"] == "select" else [element.get("value", "")]
        offered.setdefault(element["name"], set()).update(v for v in values if v)
    for name, schema in definition.schema["properties"].items():
        enum = schema.get("enum") or schema.get("items", {}).get("enum")
        if enum:
            assert offered[name] == {str(v) for v in enum}, name
        for row, row_schema in schema.get("properties", {}).items():
            assert offered[f"{name}.{row}"] == {str(v) for v in row_schema["enum"]}, (name, row)


def test_every_input_has_a_label(definition: FormDefinition) -> None:
    page = page_of(definition)
    for element in page.inputs:
        if element.get("type") == "hidden":
            continue
        assert element.get("id") in page.labels, element
        assert page.labels[element["id"]], element


def test_groups_are_fieldsets_with_a_legend(definition: FormDefinition) -> None:
    page = page_of(definition)
    grouped = {i["name"] for f in page.fieldsets for i in f["inputs"]}
    for element in page.answer_inputs(definition):
        if element.get("type") in ("radio",) or (element.get("type") == "checkbox"
                                                  and definition.schema["properties"][element["name"]]
                                                  .get("type") == "array"):
            assert element["name"] in grouped, element["name"]
    assert all(f["legend"] for f in page.fieldsets)


def test_help_and_errors_are_linked_with_aria_describedby(definition: FormDefinition) -> None:
    errors = [FieldError(q.name, "is required.") for q in definition.questions]
    page = page_of(definition, errors=errors)
    for question in definition.questions:
        element = page.ids.get(f"q-{question.name}")
        assert element is not None
        target = element if element["tag"] == "fieldset" else page.ids[f"f-{question.name}"]
        described = target.get("aria-describedby", "").split()
        assert f"q-{question.name}-error" in described, question.name
        assert f"q-{question.name}-error" in page.ids
        if question.ui.get("help"):
            assert f"q-{question.name}-help" in described
        for ref in described:
            assert ref in page.ids, ref


def test_nps_is_eleven_radio_buttons() -> None:
    definition = load_definition(next(p for p in FORMS if p.stem == "product-feedback"))
    radios = [i for i in page_of(definition).inputs if i.get("name") == "nps"]
    assert [r["type"] for r in radios] == ["radio"] * 11
    assert [r["value"] for r in radios] == [str(n) for n in range(11)]


def test_every_question_type_is_exercised_by_an_example() -> None:
    widgets = {rendering.widget_of(q) for p in FORMS for q in load_definition(p).questions}
    assert {"text", "textarea", "email", "number", "date", "radio", "select", "checkboxes", "rating", "nps",
            "likert", "consent"} <= widgets


def test_labels_follow_the_language() -> None:
    definition = load_definition(next(p for p in FORMS if p.stem == "product-feedback"))
    russian = rendering.render_form(definition, "ru", action="product-feedback")
    assert 'lang="ru"' in russian and "Насколько вы согласны?" in russian and "Полностью согласен" in russian
    english = rendering.render_form(definition, "en", action="product-feedback")
    assert "How much do you agree?" in english and "Насколько" not in english


def test_kept_answers_after_an_error_include_matrix_rows_and_checkboxes() -> None:
    definition = load_definition(next(p for p in FORMS if p.stem == "product-feedback"))
    page = page_of(definition, values={"agreement.fast": ["4"], "features": ["search", "returns"], "nps": ["3"]},
                   errors=[FieldError("agreement/easy", "is required.")])
    checked = {(i["name"], i["value"]) for i in page.inputs if "checked" in i}
    assert checked == {("agreement.fast", "4"), ("features", "search"), ("features", "returns"), ("nps", "3")}
    assert page.ids["q-agreement-error"]


def test_markup_in_a_definition_is_escaped() -> None:
    from chalicelib.forms.definitions import compile_definition
    definition = compile_definition("x", {
        "type": "object", "x-form": {"kind": "survey"},
        "properties": {"q": {"type": "string", "x-ui": {"label": "<script>alert(1)</script>"}}}}, "x.json")
    html = rendering.render_form(definition, "en", action="x", values={"q": ['"><b>']})
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'value="&#34;&gt;&lt;b&gt;"' in html


@pytest.mark.parametrize(("prop", "message"), [
    ({"type": "string", "x-ui": {"widget": "likert"}}, "likert"),
    ({"type": "object", "properties": {"a": {"enum": [1, 2]}, "b": {"enum": [1, 2, 3]}},
      "x-ui": {"widget": "likert"}}, "the same"),
    ({"type": "string", "x-ui": {"widget": "checkboxes"}}, "checkboxes"),
    ({"type": "string", "x-ui": {"widget": "radio"}}, "enum"),
    ({"type": "integer", "minimum": 0, "maximum": 1000, "x-ui": {"widget": "rating"}}, "1 to 10 apart"),
    ({"type": "string", "x-ui": {"widget": "nps"}}, "integer"),
])
def test_a_choice_widget_without_choices_is_a_definition_error(prop: dict[str, Any], message: str) -> None:
    from chalicelib.core.errors import DefinitionError
    from chalicelib.forms.definitions import compile_definition
    with pytest.raises(DefinitionError, match=message) as caught:
        compile_definition("x", {"type": "object", "x-form": {"kind": "survey"}, "properties": {"q": prop}}, "x.json")
    assert caught.value.json_path == "$.properties.q"
