"""`formloop import-html`: real-world pages imported, checked, and their browsers' posts accepted by Formloop."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import InvalidSubmissionError
from chalicelib.intake.service import SubmitRequest
from formloop_cli.import_html import PageImportError, import_page, main
from formloop_cli.importing import ImportReport, write_definition
from tests.unit.importer_support import FIXTURES, post_form, services_for, stored, write_checked


def imported(tmp_path: Path, page: str, **options: Any) -> tuple[str, dict[str, Any], ImportReport]:
    html = (FIXTURES / page).read_text(encoding="utf-8")
    form_id, definition, report = import_page(html, fallback_id=Path(page).stem, **options)
    return form_id, write_checked(definition, form_id, report, tmp_path / "forms"), report


def gaps(report: ImportReport) -> list[tuple[str, str]]:
    return [(gap.name, gap.what) for gap in report.gaps]


def guesses(report: ImportReport) -> list[tuple[str, str, bool]]:
    return [(g.name, g.type, g.required) for g in report.guesses]


# --- a Hugo/Jekyll contact page posting to Formspree ------------------------------------------------------------

FORMSPREE_POST = [
    ("name", "Jane Doe"), ("_replyto", "jane@example.com"), ("phone", "+49 30 1234567"), ("topic", "Other"),
    ("guests", "40"), ("event_date", "2026-06-01"), ("message", "Hello,\r\nwe need a cake for forty guests."),
    ("_subject", "New message from the bakery site"), ("_next", "https://janes-bakery.example/thanks/"),
    ("_cc", "owner@janes-bakery.example"), ("_gotcha", ""),
]


def test_a_formspree_page_is_imported_with_what_was_guessed(tmp_path: Path) -> None:
    form_id, definition, report = imported(tmp_path, "hugo-formspree.html")
    assert form_id == "contact-form"
    assert guesses(report) == [("name", "text", True), ("phone", "tel", False), ("topic", "select", True),
                               ("guests", "number", False), ("event_date", "date", False),
                               ("message", "textarea", True)]
    assert gaps(report) == [("_replyto", "a visible input"), ("_cc", "control field")]
    props = definition["properties"]
    assert props["name"]["maxLength"] == 100 and props["name"]["x-ui"]["label"] == "Name"
    assert props["topic"]["enum"] == ["order", "catering", "Other"]  # the empty placeholder option is left out
    assert props["guests"] == {"type": "integer", "minimum": 1, "maximum": 500, "title": "Number of guests",
                               "x-ui": {"widget": "number", "label": "Number of guests"}}
    assert props["phone"]["pattern"] == "^(?:[0-9 +()-]{6,20})$"
    assert (props["message"]["minLength"], props["message"]["maxLength"]) == (10, 4000)
    assert definition["x-form"]["spam"] == {"honeypot": "_gotcha"}
    assert definition["x-form"]["allowedOrigins"] == ["https://janes-bakery.example"]
    assert definition["x-form"]["locales"] == ["en"]
    assert "took form #1 (id=\"contact-form\")" in report.notes[0]


def test_what_a_formspree_page_posts_is_stored_typed_and_complete(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "hugo-formspree.html")
    services = services_for(tmp_path / "forms")
    outcome = post_form(services, form_id, FORMSPREE_POST)
    submission = stored(services, outcome)
    assert submission.status == "received"
    assert submission.answers == {"name": "Jane Doe", "phone": "+49 30 1234567", "topic": "Other", "guests": 40,
                                  "event_date": "2026-06-01", "message": "Hello,\r\nwe need a cake for forty guests."}
    assert (submission.reply_to, submission.subject) == ("jane@example.com", "New message from the bakery site")
    assert outcome.redirect_to == "https://janes-bakery.example/thanks/"


def test_the_imported_checks_still_hold(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "hugo-formspree.html")
    services = services_for(tmp_path / "forms")
    post = dict(FORMSPREE_POST) | {"message": "too short", "guests": "0", "phone": "call me"}
    with pytest.raises(InvalidSubmissionError) as caught:
        post_form(services, form_id, list(post.items()))
    assert {error.field for error in caught.value.errors} == {"message", "guests", "phone"}
    spam = post_form(services, form_id, list((dict(FORMSPREE_POST) | {"_gotcha": "buy now"}).items()))
    assert stored(services, spam).status == "spam"


# --- Netlify: data-netlify, form-name and bot-field ----------------------------------------------------------------

NETLIFY_POST = [("bot-field", ""), ("form-name", "contact"), ("name", "Max Mustermann"), ("email", "max@example.com"),
                ("role[]", "leader"), ("role[]", "follower"), ("message", "Hi!\r\nTwo lines.")]


def test_a_netlify_form_keeps_form_name_and_lists_its_honeypot(tmp_path: Path) -> None:
    form_id, definition, report = imported(tmp_path, "netlify.html")
    assert form_id == "contact"
    assert guesses(report) == [("form-name", "hidden", False), ("name", "text", True), ("email", "email", True),
                               ("role", "checkboxes", False), ("message", "textarea", False)]
    assert definition["properties"]["form-name"] == {"type": "string", "const": "contact", "x-ui": {"widget": "hidden"}}
    assert definition["properties"]["role"]["items"] == {"enum": ["leader", "follower"]}
    assert definition["properties"]["email"]["x-ui"]["label"] == "Your Email"  # a wrapping label, colon dropped
    if "spam" not in definition["x-form"]:  # while Formloop refuses honeypot names without '_'
        assert gaps(report) == [("bot-field", "honeypot")]


def test_what_a_netlify_page_posts_is_stored_typed_and_complete(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "netlify.html")
    services = services_for(tmp_path / "forms")
    submission = stored(services, post_form(services, form_id, NETLIFY_POST))
    assert submission.status == "received"
    assert submission.answers == {"form-name": "contact", "name": "Max Mustermann", "email": "max@example.com",
                                  "role": ["leader", "follower"], "message": "Hi!\r\nTwo lines."}


def test_a_bot_filling_netlifys_bot_field_is_kept_as_spam(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "netlify.html")
    services = services_for(tmp_path / "forms")
    post = [("bot-field", "http://spam.example")] + NETLIFY_POST[1:]
    assert stored(services, post_form(services, form_id, post)).status == "spam"


# --- Web3Forms: access_key, subject, redirect and botcheck ---------------------------------------------------------

WEB3FORMS_POST = [
    ("access_key", "YOUR_ACCESS_KEY_HERE"), ("subject", "New quote request"), ("from_name", "Acme website"),
    ("redirect", "https://acme.example/thanks.html"), ("name", "Ann Lee"), ("email", "ann@example.com"),
    ("website", "https://ann.example"), ("budget", "medium"), ("message", "A shop, please."),
]


def test_a_web3forms_page_is_imported_with_labels_from_attributes(tmp_path: Path) -> None:
    form_id, definition, report = imported(tmp_path, "web3forms.html")
    assert form_id == "quote"
    props = definition["properties"]
    assert (props["name"]["x-ui"]["label"], props["email"]["x-ui"]["label"]) == ("Full name", "Your email")
    assert props["budget"]["x-ui"] == {"widget": "radio", "label": "Budget",
                                       "choices": {"small": "Under $1k", "medium": "$1k–$10k", "large": "Over $10k"}}
    assert definition["x-form"]["redirect"] == "https://acme.example/thanks.html"
    assert [name for name, _, _ in guesses(report)][:4] == ["access_key", "subject", "from_name", "redirect"]
    if "spam" not in definition["x-form"]:
        assert gaps(report) == [("botcheck", "honeypot")]


def test_what_a_web3forms_page_posts_is_stored_and_redirected(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "web3forms.html")
    services = services_for(tmp_path / "forms")
    outcome = post_form(services, form_id, WEB3FORMS_POST)  # botcheck is unchecked: a browser sends nothing
    assert stored(services, outcome).answers == dict(WEB3FORMS_POST)
    assert outcome.redirect_to == "https://acme.example/thanks.html"


def test_a_bot_ticking_web3forms_botcheck_is_kept_as_spam(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "web3forms.html")
    services = services_for(tmp_path / "forms")
    assert stored(services, post_form(services, form_id, [*WEB3FORMS_POST, ("botcheck", "on")])).status == "spam"


# --- a German page: names with spaces and umlauts, an off-screen honeypot ------------------------------------------

GERMAN_POST = [
    ("Vorname", "Jürgen"), ("Nachname", "Müller"), ("Straße und Hausnummer", "Hauptstraße 5"),
    ("Postleitzahl", "80331"), ("E-Mail", "juergen@example.de"), ("Anzahl Büroräume", "3"),
    ("Ihre Nachricht", "Grüß Gott,\r\nwir brauchen ein Angebot."), ("Datenschutz", "ja"), ("website_url", ""),
    ("_gotcha", ""),
]


def test_a_german_form_keeps_its_field_names(tmp_path: Path) -> None:
    form_id, definition, report = imported(tmp_path, "german.html")
    assert form_id == "anfrage-buero"
    assert list(definition["properties"]) == ["Vorname", "Nachname", "Straße und Hausnummer", "Postleitzahl",
                                              "E-Mail", "Anzahl Büroräume", "Ihre Nachricht", "Datenschutz"]
    assert definition["x-form"]["locales"] == ["de"]
    # Both honeypots are kept; `_gotcha` first, as the one Formloop's own page renders.
    assert definition["x-form"]["spam"] == {"honeypot": ["_gotcha", "website_url"]}
    assert gaps(report) == []
    assert [note for note in report.notes if note.startswith("honeypot: ")] == [
        "honeypot: _gotcha ('_gotcha' is a honeypot name by convention) -> x-form.spam.honeypot",
        "honeypot: website_url (a field people cannot see (hidden by the page's own style or class)) "
        "-> x-form.spam.honeypot"]
    assert definition["properties"]["Datenschutz"]["x-ui"]["label"] == "Ich stimme der Datenschutzerklärung zu"


def test_what_a_german_page_posts_is_stored_typed_and_complete(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "german.html")
    services = services_for(tmp_path / "forms")
    submission = stored(services, post_form(services, form_id, GERMAN_POST))
    assert submission.answers == {
        "Vorname": "Jürgen", "Nachname": "Müller", "Straße und Hausnummer": "Hauptstraße 5", "Postleitzahl": "80331",
        "E-Mail": "juergen@example.de", "Anzahl Büroräume": 3,
        "Ihre Nachricht": "Grüß Gott,\r\nwir brauchen ein Angebot.", "Datenschutz": ["ja"]}
    with pytest.raises(InvalidSubmissionError) as caught:
        post_form(services, form_id, [pair for pair in GERMAN_POST if pair[0] != "Datenschutz"])
    assert [error.field for error in caught.value.errors] == ["Datenschutz"]


def test_a_bot_filling_the_off_screen_field_is_kept_as_spam(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "german.html")
    services = services_for(tmp_path / "forms")
    post = [(k, "http://spam.example" if k == "website_url" else v) for k, v in GERMAN_POST]
    assert stored(services, post_form(services, form_id, post)).status == "spam"


# --- role[] checkboxes and hidden+checkbox pairs --------------------------------------------------------------------

SIGNUP_POST = [("name", "Kim"), ("role[]", "design"), ("role[]", "marketing"), ("newsletter", "0"),
               ("newsletter", "1"), ("terms", "no"), ("terms", "yes"), ("_redirect", "https://example.org/welcome"),
               ("honeypot", ""), ("action", "apply")]


def test_checkbox_groups_and_hidden_checkbox_pairs_are_typed(tmp_path: Path) -> None:
    form_id, definition, report = imported(tmp_path, "checkboxes.html")
    assert form_id == "signup"
    assert guesses(report) == [("name", "text", True), ("role", "checkboxes", False),
                               ("newsletter", "consent", False), ("terms", "consent", True),
                               ("action", "hidden", False)]
    props = definition["properties"]
    assert props["role"]["x-ui"]["label"] == "Which roles interest you?"
    assert props["newsletter"]["type"] == "boolean" and props["terms"]["const"] is True
    assert definition["x-form"]["redirect"] == "https://example.org/welcome"
    assert "of 2 (others: form #2 posting to /search" in report.notes[0]


def test_what_a_checkbox_page_posts_is_stored_typed(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "checkboxes.html")
    services = services_for(tmp_path / "forms")
    outcome = post_form(services, form_id, SIGNUP_POST)
    assert stored(services, outcome).answers == {"name": "Kim", "role": ["design", "marketing"], "newsletter": True,
                                                 "terms": True, "action": "apply"}
    assert outcome.redirect_to == "https://example.org/welcome"
    unticked = [pair for pair in SIGNUP_POST if pair not in (("newsletter", "1"), ("role[]", "design"),
                                                               ("role[]", "marketing"))]
    assert stored(services, post_form(services, form_id, unticked)).answers == {
        "name": "Kim", "newsletter": False, "terms": True, "action": "apply"}
    with pytest.raises(InvalidSubmissionError) as caught:
        post_form(services, form_id, [pair for pair in SIGNUP_POST if pair != ("terms", "yes")])
    assert [error.field for error in caught.value.errors] == ["terms"]


# --- file inputs ----------------------------------------------------------------------------------------------------

def test_a_file_input_is_listed_as_not_converted(tmp_path: Path) -> None:
    form_id, definition, report = imported(tmp_path, "getform-upload.html")
    assert list(definition["properties"]) == ["name"]
    assert gaps(report) == [("cv", "file upload")]


def test_a_browser_post_with_no_file_chosen_is_accepted(tmp_path: Path) -> None:
    form_id, _, _ = imported(tmp_path, "getform-upload.html")
    services = services_for(tmp_path / "forms")
    boundary = "----formloopboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAnn\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"_gotcha\"\r\n\r\n\r\n--{boundary}--\r\n").encode()
    outcome = services.submissions.submit(SubmitRequest(
        form_id, body, {"content-type": f"multipart/form-data; boundary={boundary}"}, "203.0.113.9"))
    assert stored(services, outcome).answers == {"name": "Ann"}


# --- choosing the form, never overwriting ---------------------------------------------------------------------------

def test_a_form_is_chosen_by_number_or_by_id_and_an_unknown_one_is_named() -> None:
    html = (FIXTURES / "checkboxes.html").read_text(encoding="utf-8")
    form_id, definition, report = import_page(html, choice="2", form_id="site-search")
    assert list(definition["properties"]) == ["q"] and definition["properties"]["q"]["x-ui"]["label"] == "Search"
    assert ("<form>", "method=get") in gaps(report)
    assert import_page(html, choice="signup")[0] == "signup"
    with pytest.raises(PageImportError, match="no form 'nope'; the page has: form #1"):
        import_page(html, choice="nope")
    with pytest.raises(PageImportError, match="no <form>"):
        import_page("<html><p>nothing here</p></html>")


def test_an_existing_definition_is_kept_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "contact.json").write_text("{}", encoding="utf-8")
    page = str(FIXTURES / "netlify.html")
    assert main([page, "--forms-dir", str(forms)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert (forms / "contact.json").read_text(encoding="utf-8") == "{}"
    assert main([page, "--forms-dir", str(forms), "--force"]) == 0
    assert '"form-name"' in (forms / "contact.json").read_text(encoding="utf-8")


def test_a_definition_failing_the_check_is_not_written(tmp_path: Path) -> None:
    err = io.StringIO()
    broken = {"type": "object", "properties": {"_x": {"type": "string"}}, "x-form": {"kind": "contact"}}
    assert write_definition(broken, "broken", tmp_path, force=False, report=ImportReport(),
                            out=io.StringIO(), err=err) == 1
    assert "reserved for control fields" in err.getvalue() and not (tmp_path / "broken.json").exists()


def test_the_installed_command_imports_a_page(tmp_path: Path) -> None:
    formloop = Path(sys.executable).parent / "formloop"
    done = subprocess.run([str(formloop), "import-html", str(FIXTURES / "web3forms.html"), "--form-id", "quote-form"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "budget      radio      required  3 radio buttons; label: <legend>" in done.stdout
    assert "wrote forms/quote-form.json (checked: OK)" in done.stdout
    checked = subprocess.run([str(formloop), "check-forms", "forms"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0 and "1 of 1 definitions OK" in checked.stdout


@pytest.mark.parametrize("page", ["hugo-formspree.html", "netlify.html", "web3forms.html", "german.html",
                                  "checkboxes.html"])
def test_formloops_own_page_of_an_imported_form_has_every_question(tmp_path: Path, page: str) -> None:
    from html import escape

    from chalicelib.forms.definitions import load_definition
    from chalicelib.pages.rendering import render_form

    form_id, definition, _ = imported(tmp_path, page)
    form = load_definition(tmp_path / "forms" / f"{form_id}.json")
    rendered = render_form(form, form.locales[0], action=f"/f/{form_id}")
    assert all(f'name="{escape(name)}"' in rendered for name in definition["properties"])


def test_a_hostile_page_is_read_without_crashing_or_escaping_into_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "hostile.html"
    nested = "<div>" * 20_000 + "</div>" * 20_000
    page.write_text(nested + '<form method="post" id="f"><label for="a">Name</label>'
                             '<input id="a" name="a\x1b[2J" pattern="(a+)+$"></form>', encoding="utf-8")
    assert main([str(page), "--forms-dir", str(tmp_path / "forms")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "  a?[2J  text" in out
    written = (tmp_path / "forms" / "f.json").read_text(encoding="utf-8")
    assert '"pattern"' not in written  # a pattern Formloop's regex check refuses is listed, not written
    assert "a?[2J: pattern '(a+)+$'" in out
