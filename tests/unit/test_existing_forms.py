"""A site's existing form works unchanged: free text on two lines, any honeypot name, an empty file input,
jQuery's X-Requested-With, CAPTCHA fields, a relative `_next` and a way back from the thanks page."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.core.errors import DefinitionError, InvalidSubmissionError, UnsupportedMediaTypeError
from chalicelib.forms.answers import validate
from chalicelib.forms.definitions import FormDefinition, compile_definition
from chalicelib.intake.parsing import Limits, parse_body
from chalicelib.intake.service import SubmissionService
from chalicelib.routes.edge import negotiate_json as wants_json
from tests.unit.importer_support import post_form, services_for, stored

SITE = "https://acme.example"
LIMITS = Limits(max_body_bytes=4096, max_fields=20, max_depth=4, max_field_chars=200)


def definition(properties: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "x-form": {"kind": "contact", **settings}}


TEXTS = compile_definition("texts", definition({
    "message": {"type": "string"},
    "notes": {"type": "array", "items": {"type": "string"}},
    "name": {"type": "string", "x-ui": {"widget": "text"}},
    "phone": {"type": "string", "x-ui": {"widget": "tel"}},
    "reference": {"type": "string", "x-ui": {"singleLine": True}},
    "address": {"type": "string", "format": "email"},
    "from": {"type": "string"},
    "essay": {"type": "string", "x-ui": {"widget": "text", "singleLine": False}},
}, respondentEmail="from"), "forms/texts.json")


def messages(form: FormDefinition, answers: dict[str, Any]) -> dict[str, str]:
    return {error.field: error.message for error in validate(form, answers)}


# --- line breaks belong in free text ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Hello,\r\nwe need a cake.", "one\ntwo", "a\tb\n\n c"])
def test_a_plain_string_answer_keeps_its_line_breaks(text: str) -> None:
    assert messages(TEXTS, {"message": text, "essay": text}) == {}


@pytest.mark.parametrize("text", ["bell\x07", "esc\x1b[31m", "nul\x00", "del\x7f"])
def test_other_control_characters_stay_refused_in_free_text(text: str) -> None:
    assert messages(TEXTS, {"message": text}) == {"message": "contains control characters."}


@pytest.mark.parametrize("field", ["name", "phone", "reference", "address", "from", "notes"])
def test_answers_that_reach_a_header_or_are_marked_single_line_refuse_line_breaks(field: str) -> None:
    text = "Ann\r\nBcc: x@example.com"
    errors = [(e.field, e.message) for e in validate(TEXTS, {field: [text] if field == "notes" else text})]
    assert (field, "contains control characters or line breaks.") in errors


def test_single_line_is_a_setting_a_definition_may_give() -> None:
    bad = definition({"note": {"type": "string", "x-ui": {"singleLine": "yes"}}})
    with pytest.raises(DefinitionError, match=r"singleLine"):
        compile_definition("bad", bad, "forms/bad.json")


# --- any field may be the honeypot ---------------------------------------------------------------------------------

def write_form(folder: Path, form_id: str, body: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{form_id}.json").write_text(json.dumps(body), encoding="utf-8")
    return folder


NETLIFY = definition({"name": {"type": "string"}, "message": {"type": "string"}},
                     spam={"honeypot": "bot-field"}, allowedOrigins=[SITE])


@pytest.mark.parametrize("name", ["bot-field", "botcheck", "honeypot", "username", "website url", "_gotcha"])
def test_any_field_name_may_be_the_honeypot(name: str) -> None:
    form = compile_definition("hp", {**NETLIFY, "x-form": {**NETLIFY["x-form"], "spam": {"honeypot": name}}},
                              "forms/hp.json")
    assert form.honeypot == name


@pytest.mark.parametrize("name", ["", "bot\nfield", "x" * 101])
def test_a_honeypot_name_is_one_line_of_at_most_100_characters(name: str) -> None:
    with pytest.raises(DefinitionError, match=r"\$\.x-form\.spam\.honeypot"):
        compile_definition("hp", {**NETLIFY, "x-form": {**NETLIFY["x-form"], "spam": {"honeypot": name}}},
                           "forms/hp.json")


def test_the_honeypot_cannot_also_be_a_question() -> None:
    clash = {**NETLIFY, "x-form": {**NETLIFY["x-form"], "spam": {"honeypot": "name"}}}
    with pytest.raises(DefinitionError, match=r"\$\.x-form\.spam\.honeypot: 'name' is also a question"):
        compile_definition("hp", clash, "forms/hp.json")


def test_a_filled_netlify_honeypot_is_spam_and_an_empty_one_is_no_answer(tmp_path: Path) -> None:
    services = services_for(write_form(tmp_path / "forms", "netlify", NETLIFY))
    person = stored(services, post_form(services, "netlify", [("bot-field", ""), ("name", "Ann"),
                                                               ("message", "Hi")]))
    assert (person.status, person.answers) == ("received", {"name": "Ann", "message": "Hi"})
    bot = stored(services, post_form(services, "netlify", [("bot-field", "http://spam.example"), ("name", "X")]))
    assert bot.status == "spam" and "bot-field" not in bot.answers


TWO_HONEYPOTS = definition({"name": {"type": "string"}, "message": {"type": "string"}},
                           spam={"honeypot": ["bot-field", "website"]}, allowedOrigins=[SITE])


@pytest.mark.parametrize("honeypot", ["bot-field", "website"])
def test_a_bot_filling_any_of_two_honeypots_is_kept_as_spam(tmp_path: Path, honeypot: str) -> None:
    services = services_for(write_form(tmp_path / "forms", "two", TWO_HONEYPOTS))
    empty = [("bot-field", ""), ("website", "")]
    person = stored(services, post_form(services, "two", [*empty, ("name", "Ann"), ("message", "Hi")]))
    assert (person.status, person.answers) == ("received", {"name": "Ann", "message": "Hi"})
    filled = [(k, "http://spam.example" if k == honeypot else v) for k, v in empty]
    bot = stored(services, post_form(services, "two", [*filled, ("name", "X")]))
    assert bot.status == "spam" and bot.answers == {"name": "X"}


def test_a_form_with_a_list_of_honeypots_names_them_all_and_renders_the_first() -> None:
    form = compile_definition("two", TWO_HONEYPOTS, "forms/two.json")
    assert (form.honeypots, form.honeypot) == (("bot-field", "website"), "bot-field")
    assert compile_definition("hp", NETLIFY, "forms/hp.json").honeypots == ("bot-field",)


@pytest.mark.parametrize("names, where, message", [
    ([], r"honeypot", "should be non-empty"),
    (["bot-field", "bot-field"], r"honeypot", "non-unique"),
    (["bot-field", "bot\nfield"], r"honeypot\[1\]", "does not match"),
    (["bot-field", "message"], r"honeypot\[1\]", "'message' is also a question"),
    ([7], r"honeypot\[0\]", "is not of type 'string'"),
])
def test_a_list_of_honeypots_is_checked_name_by_name(names: list[Any], where: str, message: str) -> None:
    bad = {**TWO_HONEYPOTS, "x-form": {**TWO_HONEYPOTS["x-form"], "spam": {"honeypot": names}}}
    with pytest.raises(DefinitionError, match=rf"\$\.x-form\.spam\.{where}: .*{message}"):
        compile_definition("two", bad, "forms/two.json")


# --- an empty file input -------------------------------------------------------------------------------------------

def multipart(*parts: str, boundary: str = "b0undary") -> tuple[str, bytes]:
    body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
    return f"multipart/form-data; boundary={boundary}", body.encode()


EMPTY_FILE = ('Content-Disposition: form-data; name="cv"; filename=""\r\n'
              'Content-Type: application/octet-stream\r\n\r\n\r\n')
TEXT = 'Content-Disposition: form-data; name="name"\r\n\r\nAnn\r\n'


def test_an_empty_file_part_is_ignored() -> None:
    assert parse_body(*multipart(TEXT, EMPTY_FILE), LIMITS).values == {"name": ["Ann"]}


@pytest.mark.parametrize("part", [
    'Content-Disposition: form-data; name="cv"; filename="cv.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n',
    'Content-Disposition: form-data; name="cv"; filename="empty.txt"\r\n\r\n\r\n',
    'Content-Disposition: form-data; name="cv"; filename=""\r\n\r\nbytes without a name\r\n',
])
def test_a_file_that_was_chosen_is_still_415(part: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="File uploads are not accepted .field 'cv'"):
        parse_body(*multipart(TEXT, part), LIMITS)


# --- jQuery and CAPTCHA conventions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"x-requested-with": "XMLHttpRequest"},
    {"x-requested-with": "xmlhttprequest", "accept": "*/*"},
    {"x-requested-with": "XMLHttpRequest", "accept": "text/html, */*; q=0.01"},
])
def test_x_requested_with_asks_for_json(headers: dict[str, str]) -> None:
    assert wants_json(headers)


def test_without_it_a_browser_still_gets_html() -> None:
    assert not wants_json({"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert not wants_json({"x-requested-with": "com.example.app"})  # an Android WebView names its app here


def test_captcha_widgets_fields_are_never_answers_on_a_form_without_a_captcha(tmp_path: Path) -> None:
    services = services_for(write_form(tmp_path / "forms", "netlify", NETLIFY))
    tokens = [("g-recaptcha-response", "03AFcWeA"), ("h-captcha-response", "P1_eyJ"), ("cf-turnstile-response", "0.x")]
    submission = stored(services, post_form(services, "netlify", [("name", "Ann"), *tokens]))
    assert (submission.status, submission.answers) == ("received", {"name": "Ann"})


def test_an_unknown_field_is_still_refused(tmp_path: Path) -> None:
    services = services_for(write_form(tmp_path / "forms", "netlify", NETLIFY))
    with pytest.raises(InvalidSubmissionError) as caught:
        post_form(services, "netlify", [("name", "Ann"), ("recaptcha", "x")])
    assert [(e.field, e.message) for e in caught.value.errors] == [("recaptcha", "is not a field of this form.")]


# --- a relative _next, and the way back ------------------------------------------------------------------------------

SITE_FORM = compile_definition("site", NETLIFY, "forms/site.json")


def redirect_for(next_url: str | None, origin: str | None, referer: str | None) -> str:
    """Where a browser goes after posting to the form of SITE from `referer`."""
    return SERVICE.redirect_for(SITE_FORM, next_url, origin, referer)


SERVICE = services_for(Path("/nonexistent")).submissions


@pytest.mark.parametrize("next_url, referer, expected", [
    ("thanks.html", f"{SITE}/contact/index.html", f"{SITE}/contact/thanks.html"),
    ("./thanks.html", f"{SITE}/contact/", f"{SITE}/contact/thanks.html"),
    ("../thanks/", f"{SITE}/en/contact/", f"{SITE}/en/thanks/"),
    ("?sent=1", f"{SITE}/contact", f"{SITE}/contact?sent=1"),
    ("thanks.html", None, f"{SITE}/thanks.html"),  # a browser that sends no Referer: the site's root
    ("thanks.html", f"{SITE}/", f"{SITE}/thanks.html"),  # what strict-origin-when-cross-origin sends
    ("/thanks.html", f"{SITE}/contact/index.html", f"{SITE}/thanks.html"),  # as before: against the Origin
])
def test_a_relative_next_resolves_against_the_posting_page(next_url: str, referer: str | None, expected: str) -> None:
    assert redirect_for(next_url, SITE, referer) == expected


@pytest.mark.parametrize("next_url, origin, referer", [
    ("thanks.html", "https://evil.example", "https://evil.example/contact"),  # neither is an allowed site
    ("thanks.html", None, "https://evil.example/contact"),
    ("//evil.example/x", SITE, f"{SITE}/contact"),
    ("\\\\evil.example/x", SITE, f"{SITE}/contact"),
    ("javascript:alert(1)", SITE, f"{SITE}/contact"),
    ("mailto:ann@example.com", SITE, f"{SITE}/contact"),
    ("https:evil.example", SITE, f"{SITE}/contact"),
])
def test_a_next_that_would_leave_the_allowed_sites_is_not_followed(next_url: str, origin: str | None,
                                                                     referer: str) -> None:
    target = redirect_for(next_url, origin, referer)
    assert target.startswith("site/thanks")


def test_the_thanks_redirect_carries_the_posting_page_only_from_an_allowed_site() -> None:
    target = redirect_for(None, SITE, f"{SITE}/kontakt?x=1&y=2")
    parts = urlsplit(target)
    assert parts.path == "site/thanks" and parse_qs(parts.query) == {"back": [f"{SITE}/kontakt?x=1&y=2"]}
    assert redirect_for(None, SITE, "https://evil.example/") == "site/thanks"
    assert redirect_for(None, None, None) == "site/thanks"


@pytest.mark.parametrize("url", [None, "", "https://evil.example/", "javascript:alert(1)", f"{SITE}/a\nb",
                                 f"{SITE}\\@evil.example/", f"{SITE}/" + "x" * 2000, "/relative"])
def test_only_a_page_on_an_allowed_site_is_a_back_link(url: str | None) -> None:
    assert SubmissionService.back_link(SITE_FORM, url) is None


def test_a_page_on_an_allowed_site_is_a_back_link() -> None:
    assert SubmissionService.back_link(SITE_FORM, f"{SITE}/contact.html") == f"{SITE}/contact.html"
