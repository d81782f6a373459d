"""Formloop's own wording comes from one catalogue per language, complete in each, and reaches every page a
respondent sees in the language they chose (docs/i18n.md)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from chalicelib.core import errors as error_module
from chalicelib.core.errors import FieldError, FormloopError, NotFoundError, RateLimitedError
from chalicelib.forms.answers import split_control, validate
from chalicelib.forms.definitions import FormRegistry, compile_definition
from chalicelib.i18n.catalogue import LANGUAGES, LOCALES_DIR, translate, translate_error
from chalicelib.i18n.negotiation import negotiate
from chalicelib.intake.service import carry_language, choose_language
from chalicelib.mail.content import WORDING as EMAIL_WORDING
from chalicelib.pages import rendering

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translate": (2,), "translate_plural": (2, 3)}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
FORMS = FormRegistry(ROOT / "forms")


def _template() -> set[str]:
    with (LOCALES_DIR / "formloop.pot").open("rb") as source:
        return {message.id for message in read_po(source) if message.id}


def _catalogue(language: str) -> Any:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "formloop.po").open("rb") as source:
        return read_po(source, locale=language)


# `make mutate` runs the unit tests on a copy of the code that mutmut has rewritten (its trampolines add strings
# of their own): the catalogue template describes the real code, which `make test` checks.
@pytest.mark.skipif(ROOT.name == "mutants", reason="mutmut's rewritten copy is not what the template describes")
def test_the_template_holds_exactly_what_babel_extracts_from_the_code_and_templates() -> None:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    extracted = {message for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map,
                                                                      keywords=KEYWORDS)}
    extracted = {m if isinstance(m, str) else m[0] for m in extracted}
    assert extracted - _template() == set(), "run `make messages` and translate the new strings"
    assert _template() - extracted == set(), "strings no longer used: run `make messages`"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_translates_every_string_with_its_placeholders(language: str) -> None:
    catalogue = _catalogue(language)
    translated = {m.id: m for m in catalogue if m.id}
    missing = sorted(_template() - {i for i, m in translated.items() if m.string and not m.fuzzy})
    assert missing == [], f"{language} lacks {missing}"
    for msgid in _template():
        assert set(PLACEHOLDER.findall(translated[msgid].string)) == set(PLACEHOLDER.findall(msgid)), msgid


def test_a_catalogue_missing_a_string_is_caught(tmp_path: Path) -> None:
    # The check above, on a copy of the Russian catalogue with one translation taken out.
    text = (LOCALES_DIR / "ru" / "LC_MESSAGES" / "formloop.po").read_text(encoding="utf-8")
    broken = text.replace('msgstr "Отправить"', 'msgstr ""')
    assert broken != text
    (tmp_path / "formloop.po").write_text(broken, encoding="utf-8")
    with (tmp_path / "formloop.po").open("rb") as source:
        kept = {m.id for m in read_po(source) if m.id and m.string}
    assert _template() - kept == {"Send"}


# --- every language the catalogues ship, in every shipped form and gift campaign ----------------------------------

# What a respondent reads of a definition: the form's own texts, and each question's presentation.
FORM_TEXTS = ("title", "description", "submitLabel", "thanks")
QUESTION_TEXTS = ("label", "help", "placeholder")
QUESTION_TEXT_MAPS = ("choices", "rows", "scale")
CAMPAIGN_TEXTS = ("title", "description", "value", "howToUse")


def _respondent_texts(definition: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each text of the definition a respondent reads, with where it is."""
    settings = definition["x-form"]
    found = [(f"x-form.{key}", settings[key]) for key in FORM_TEXTS if key in settings]
    found += [(f"x-form.acknowledgement.{key}", value) for key, value in settings.get("acknowledgement", {}).items()
              if key in ("subject", "intro")]
    for name, question in definition["properties"].items():
        ui = question.get("x-ui", {})
        found += [(f"{name}.{key}", ui[key]) for key in QUESTION_TEXTS if key in ui]
        found += [(f"{name}.{key}.{option}", text) for key in QUESTION_TEXT_MAPS
                  for option, text in ui.get(key, {}).items()]
    return found


def _missing_languages(texts: list[tuple[str, Any]]) -> list[str]:
    return [f"{where}: {sorted(set(LANGUAGES) - set(text)) if isinstance(text, dict) else 'English only'}"
            for where, text in texts if not isinstance(text, dict) or set(LANGUAGES) - set(text)]


SHIPPED_FORMS = sorted((ROOT / "forms").glob("*.json"))
SHIPPED_CAMPAIGNS = sorted((ROOT / "forms" / "gifts").glob("*.json"))


@pytest.mark.parametrize("path", SHIPPED_FORMS, ids=lambda p: p.stem)
def test_every_shipped_form_speaks_every_language_the_catalogues_ship(path: Path) -> None:
    definition = json.loads(path.read_text(encoding="utf-8"))
    assert set(definition["x-form"].get("locales", ["en"])) >= set(LANGUAGES)
    texts = _respondent_texts(definition)
    assert texts and _missing_languages(texts) == []


@pytest.mark.parametrize("path", SHIPPED_CAMPAIGNS, ids=lambda p: p.stem)
def test_every_shipped_gift_campaign_speaks_every_language_the_catalogues_ship(path: Path) -> None:
    campaign = json.loads(path.read_text(encoding="utf-8"))
    texts = [(key, campaign[key]) for key in CAMPAIGN_TEXTS if key in campaign]
    assert texts and _missing_languages(texts) == []


def test_a_form_or_campaign_missing_a_language_is_caught() -> None:
    contact = json.loads((ROOT / "forms" / "contact.json").read_text(encoding="utf-8"))
    del contact["properties"]["topic"]["x-ui"]["choices"]["idea"]["hi"]
    contact["properties"]["message"]["x-ui"]["help"] = "Plain English"
    assert _missing_languages(_respondent_texts(contact)) == ["topic.choices.idea: ['hi']",
                                                              "message.help: English only"]
    assert _missing_languages([("title", {"en": "Coupon", "ru": "Купон"})]) == ["title: ['fr', 'hi', 'vi']"]


@pytest.mark.parametrize("form_id", [path.stem for path in SHIPPED_FORMS])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_shipped_form_page_in_each_language_shows_its_own_words(form_id: str, language: str) -> None:
    form = FORMS.require(form_id)
    page = rendering.render_form(form, language, action=form_id)
    assert f'<html lang="{language}">' in page and form.title(language) in page
    if language != "en":
        labels = [ui["label"] for ui in (q.get("x-ui", {}) for q in form.schema["properties"].values())
                  if isinstance(ui.get("label"), dict)]
        english = [label["en"] for label in labels if label["en"] != label[language]]
        shown = re.compile("|".join(rf">\s*{re.escape(text)}\s*<" for text in english))
        assert shown.search(rendering.render_form(form, "en", action=form_id))  # the check finds what it seeks
        assert shown.findall(page) == []


# Text a template shows without marking it: letters outside tags, `{% trans %}` blocks and expressions.
_TAG = re.compile(r"<(style|script|mj-style)\b.*?</\1>|<!--.*?-->|<[^>]*>|&[a-z]+;|&#\d+;", re.S)


def _unmarked(source: str) -> list[str]:
    from jinja2 import Environment
    environment = Environment(extensions=["jinja2.ext.i18n"])
    data, inside_trans, previous = [], False, ""
    for _, kind, value in environment.lex(source):
        if kind == "name" and previous == "block_begin":
            inside_trans = value == "trans" or (inside_trans and value != "endtrans")
        if kind == "data" and not inside_trans:
            data.append(value)
        if kind not in ("whitespace",):
            previous = kind
    text = _TAG.sub(" ", "".join(data))
    return [word for word in re.findall(r"[^\W\d_]{2,}", text)]


RESPONDENT_TEMPLATES = [ROOT / "chalicelib/pages/templates" / name for name in
                        ("base.html", "form.html", "message.html", "gift.html")] + \
    sorted((ROOT / "forms/templates").glob("*-thanks.*"))


@pytest.mark.parametrize("path", RESPONDENT_TEMPLATES, ids=lambda p: p.name)
def test_templates_a_respondent_sees_mark_all_their_wording(path: Path) -> None:
    assert _unmarked(path.read_text(encoding="utf-8")) == []


def test_the_unmarked_text_check_finds_plain_wording() -> None:
    assert _unmarked("<p>{{ _('Send') }}</p><p>Back to the form</p>") == ["Back", "to", "the", "form"]
    assert _unmarked("<p>{% trans %}Send{% endtrans %}</p><style>p { color: red }</style>") == []


def test_every_error_title_and_page_text_is_in_the_catalogue() -> None:
    classes = [c for c in vars(error_module).values() if isinstance(c, type) and issubclass(c, FormloopError)]
    assert len(classes) > 15
    wording = {c.TITLE for c in classes} | {c.PAGE_TEXT for c in classes}
    assert wording - _template() == set()
    assert set(rendering.WORDING.values()) | set(EMAIL_WORDING.values()) <= _template()


# A definition exercising each kind of check jsonschema can fail on.
CHECKS: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "checks", "type": "object",
    "additionalProperties": False, "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        "empty": {"type": "string", "minLength": 1}, "email": {"type": "string", "format": "email"},
        "day": {"type": "string", "format": "date"}, "count": {"type": "integer", "minimum": 1, "maximum": 3},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "topic": {"enum": ["a", "b"]}, "agree": {"const": True}, "flag": {"type": "boolean"},
        "tags": {"type": "array", "minItems": 2, "maxItems": 3, "uniqueItems": True, "items": {"type": "string"}},
        "group": {"type": "object", "additionalProperties": False, "properties": {"x": {"type": "string"}}},
        "mixed": {"type": ["integer", "null"]},
    },
    "x-form": {"kind": "contact", "locales": ["en", "ru"]},
}
BAD: list[dict[str, Any]] = [
    {"name": "A1", "empty": "", "email": "nope", "day": "tomorrow", "count": 9, "ratio": 1, "topic": "c",
     "agree": False, "flag": "x", "tags": ["a", "a", "b", "c"], "group": {"y": 1}, "mixed": "x", "extra": 1},
    {"name": "toolongname", "count": 0, "ratio": 0, "tags": ["a"], "group": [], "flag": 1},
    {"name": "ab\ncd", "count": "x"},
]


def _checks_form(tmp_path: Path) -> Any:
    (tmp_path / "checks.json").write_text(json.dumps(CHECKS), encoding="utf-8")
    return FormRegistry(tmp_path).require("checks")


def test_every_field_error_carries_a_translated_template(tmp_path: Path) -> None:
    definition = _checks_form(tmp_path)
    found = [error for answers in BAD for error in validate(definition, answers)]
    _, _, control = split_control({"_subject": "two\nlines", "_next": "x" * 2001}, definition)
    found += control
    assert len({e.template for e in found}) >= 20
    assert [e for e in found if not e.template or e.template not in _template()] == []
    for error in found:  # the English message is the template filled in (or jsonschema's own, in English)
        assert translate_error(error, "en") == error.message
        assert PLACEHOLDER.search(translate_error(error, "ru")) is None


def test_a_russian_page_of_errors_says_nothing_in_english() -> None:
    contact = FORMS.require("contact")
    errors = validate(contact, {"email": "nope"})
    page = rendering.render_form(contact, "ru", action="contact", values={"email": "nope"}, errors=errors)
    assert "Ваше имя: обязательный вопрос." in page
    assert "нужен адрес электронной почты, например name@example.com." in page
    for english in ("is required", "must be", "Please fix", "Send<"):
        assert english not in page
    english_page = rendering.render_form(contact, "en", action="contact", values={"email": "nope"}, errors=errors)
    assert "Your name: is required." in english_page and "Please fix the following" in english_page


def test_errors_on_no_question_are_named_in_the_page_language() -> None:
    contact = FORMS.require("contact")
    page = rendering.render_form(contact, "ru", action="contact",
                                 errors=[FieldError("", "is not a valid answer.", (), "is not a valid answer.")])
    assert "форма: недопустимый ответ." in page


@pytest.mark.parametrize(("language", "send", "thanks"), [
    ("en", "Send", "Thank you"), ("ru", "Отправить", "Спасибо"), ("fr", "Envoyer", "Merci"),
    ("vi", "Gửi", "Cảm ơn bạn"), ("hi", "भेजें", "धन्यवाद")])
def test_the_survey_and_its_thanks_page_in_each_language(language: str, send: str, thanks: str) -> None:
    survey = FORMS.require("customer-survey")
    assert choose_language(survey, language, None) == language
    page = rendering.render_form(survey, language, action="customer-survey")
    assert f'<html lang="{language}">' in page and f">{send}</button>" in page
    assert f"<h1>{thanks}</h1>" in rendering.render_thanks(survey, language)


def test_chrome_follows_only_a_language_the_form_offers() -> None:
    shipped = json.loads((ROOT / "forms" / "contact.json").read_text(encoding="utf-8"))
    contact = compile_definition("contact", {**shipped, "x-form": {**shipped["x-form"], "locales": ["en", "ru"]}},
                                 "forms/contact.json")
    assert choose_language(contact, "hi", "vi, fr;q=0.5") == "en"
    assert choose_language(contact, None, "fr, ru;q=0.5") == "ru"
    page = rendering.render_form(contact, choose_language(contact, "hi", None), action="contact")
    assert ">Send</button>" in page


def test_an_error_page_in_hindi_and_in_english() -> None:
    hindi = rendering.render_error(NotFoundError("There is no form named x."), "hi")
    assert "<h1>नहीं मिला</h1>" in hindi and "There is no form" not in hindi and 'lang="hi"' in hindi
    english = rendering.render_error(RateLimitedError("Too many posts; try again in 60 s.", retry_after=60), "en")
    assert "<h1>Too many requests</h1>" in english and "Too many posts; try again in 60 s." in english


@pytest.mark.parametrize(("language", "wording"), [
    ("en", "The link is personal"), ("ru", "Ссылка личная"), ("fr", "Ce lien est personnel"),
    ("vi", "Đường liên kết này là của riêng bạn"), ("hi", "यह लिंक निजी है")])
def test_the_acknowledgement_in_each_language(language: str, wording: str) -> None:
    from datetime import UTC, datetime

    from chalicelib.core.submission import Submission
    from chalicelib.mail.content import EmailTemplates, render_acknowledgement
    submission = Submission(form="customer-survey", id="01J0000000000000000000000A", created_at=datetime.now(UTC),
                            status="received", answers={"nps": 9, "email": "ann@example.com"}, language=language,
                            respondent_email="ann@example.com")
    gift = {"url": "https://f.example/g/a?t=b", "title": "Coupon", "value": "10%", "expires_at": "2030-01-01"}
    email = render_acknowledgement(EmailTemplates(ROOT / "forms" / "templates"), FORMS.require("customer-survey"),
                                   submission, {"gift": gift})
    assert wording in email.html and wording in email.text
    assert f'lang="{language}"' in email.html


def test_gift_and_email_wording_come_from_the_catalogue() -> None:
    assert translate("vi", "Show my code") == "Hiện mã của tôi"
    assert translate("fr", "Valid until {date}", date="2030-01-01") == "Valable jusqu’au 2030-01-01"
    assert translate("xx", "Send") == "Send"  # a language Formloop does not ship: English


@pytest.mark.parametrize(("url", "accept", "expected"), [
    ("contact/thanks", None, "contact/thanks?lang=ru"),
    ("contact/thanks", "ru-RU,ru;q=0.9", "contact/thanks"),  # the browser would ask for Russian anyway
    ("contact/thanks?back=https%3A%2F%2Fa.example%2F", "en", "contact/thanks?back=https%3A%2F%2Fa.example%2F&lang=ru"),
    ("/merci", None, "/merci"),  # a `_next` path: the site's page, as the site wrote it
    ("https://shop.example.com/thanks", None, "https://shop.example.com/thanks"),
    ("other/thanks", None, "other/thanks"),
])
def test_the_thanks_page_keeps_the_language_through_the_redirect(url: str, accept: str | None,
                                                                     expected: str) -> None:
    assert carry_language(url, FORMS.require("contact"), "ru", accept) == expected


def test_negotiation_prefers_the_request_then_the_weights() -> None:
    assert negotiate(LANGUAGES, "vi-VN", "fr") == "vi"
    assert negotiate(LANGUAGES, None, "de, hi;q=0.4, fr;q=0.8") == "fr"
    assert negotiate(LANGUAGES, "xx", "*, ja") == "en"


def test_a_stored_post_loads_no_catalogue_no_gettext_and_no_babel() -> None:
    probe = ("import sys\n"
             "from urllib.parse import urlencode\n"
             "from chalicelib.core.config import Settings\n"
             "from chalicelib.intake.service import SubmitRequest\n"
             "from chalicelib.wiring import MemoryStores, build_memory_services\n"
             "settings = Settings.from_environ({'FORMLOOP_FORMS_DIR': 'forms'})\n"
             "services = build_memory_services(settings, MemoryStores())\n"
             "body = urlencode({'name': 'Ann', 'email': 'ann@example.com', 'topic': 'question', 'message': 'Hi',\n"
             "                  'consent': 'on', '_language': 'ru'}).encode()\n"
             "outcome = services.submissions.submit(SubmitRequest('contact', body,\n"
             "    {'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en'}))\n"
             "print(outcome.redirect_to)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gettext', 'babel', 'jinja2')\n"
             "             or m == 'chalicelib.i18n.catalogue'))\n")
    child = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    redirect, loaded = child.stdout.strip().splitlines()[-2:]
    assert (redirect, loaded) == ("contact/thanks?lang=ru", "[]")
