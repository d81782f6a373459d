"""Email rendering: MJML compiled once, answers escaped, recap labelled, languages, safe headers."""
from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, FormRegistry
from chalicelib.mail.content import (
    EmailTemplates,
    TemplateError,
    build_bundle,
    check_template_tags,
    compiled_html,
    message_id_for,
    recap,
    render_acknowledgement,
    render_notification,
    to_message,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "forms" / "templates"
SENDER = "Formloop <formloop@example.com>"
HOSTILE = 'Ann <script>alert("x")</script> & "friends"'


@pytest.fixture(scope="module")
def forms() -> FormRegistry:
    return FormRegistry(ROOT / "forms")


@pytest.fixture
def templates(tmp_path: Path) -> EmailTemplates:
    # An empty bundle folder: these tests compile from the MJML sources themselves.
    return EmailTemplates(TEMPLATES, bundled_dir=tmp_path / "bundle")


def echoing(forms: FormRegistry) -> FormDefinition:
    """The contact form with `x-form.acknowledgement.echo: true`: the acknowledgement repeats every answer."""
    definition = forms.require("contact")
    settings = {**definition.settings,
                "acknowledgement": {**definition.settings.get("acknowledgement", {}), "echo": True}}
    return dataclasses.replace(definition, settings=settings)


def contact(**changes: Any) -> Submission:
    answers = {"name": HOSTILE, "email": "ann@example.com", "topic": "complaint",
               "message": "Line one\nLine 'two'", "consent": True}
    fields: dict[str, Any] = dict(form="contact", id="01JCONTACT", created_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
                                  status="received", answers=answers, feedback_kind="complaint", language="en",
                                  respondent_email="ann@example.com")
    fields.update(changes)
    return Submission(**fields)


class TableRows(HTMLParser):
    """Collects the text of <th>/<td> cells together with how many <table>s enclose them."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.cells: list[tuple[int, str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.depth += 1
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
        elif tag in ("th", "td") and self._cell is not None:
            self.cells.append((self.depth, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_acknowledgement_recaps_answers_with_question_labels(forms, templates) -> None:  # type: ignore[no-untyped-def]
    email = render_acknowledgement(templates, echoing(forms), contact(), {})
    parser = TableRows()
    parser.feed(email.html)
    cells = [text for _, text in parser.cells]
    # Labels and choice wording, not field names or stored values.
    assert "Your name" in cells and "What is it about?" in cells and "Something went wrong" in cells
    assert "topic" not in cells and "complaint" not in cells
    recap_depths = {depth for depth, text in parser.cells if text in ("Your name", "Message")}
    assert recap_depths and min(recap_depths) >= 2, "recap rows must stay inside the recap table"
    assert email.to == ["ann@example.com"]
    assert email.subject == "We received your message: Contact us"


def test_answers_are_escaped_in_html_and_plain_in_text(forms, templates) -> None:  # type: ignore[no-untyped-def]
    email = render_acknowledgement(templates, echoing(forms), contact(), {})
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;friends&#34;" in email.html
    assert "Line &#39;two&#39;" in email.html
    assert HOSTILE in email.text  # the text part is not HTML: shown as typed
    assert "Your name\n  " + HOSTILE in email.text
    assert "Line one\n  Line 'two'" in email.text  # a multi-line answer stays indented under its label


def test_message_has_text_and_html_parts_and_stable_message_id(forms, templates) -> None:  # type: ignore[no-untyped-def]
    email = render_acknowledgement(templates, forms.get("contact"), contact(), {})
    message = to_message(email, SENDER, message_id_for(SENDER, "contact#01JCONTACT.acknowledgement"))
    parsed = message_from_bytes(bytes(message), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert "Thank you" in parsed.get_body(("plain",)).get_content()
    assert "<html" in parsed.get_body(("html",)).get_content()
    assert parsed["Message-ID"] == "<contact.01JCONTACT.acknowledgement@example.com>"
    assert parsed["Auto-Submitted"] == "auto-replied"


def test_language_variant_and_fallback(forms, templates) -> None:  # type: ignore[no-untyped-def]
    russian = render_acknowledgement(templates, echoing(forms), contact(language="ru"), {})
    assert russian.subject == "Мы получили ваше сообщение: Напишите нам"
    assert "Копия вашего сообщения" in russian.html and "Ваше имя" in russian.html
    assert "Копия вашего сообщения" in russian.text
    # A language the form does not offer falls back to its default; a missing file variant to the plain one.
    # (Acknowledgements are one file in every language now, their wording in the catalogues; the team's
    # notification still has a Russian file.)
    assert templates.resolve("team-notification", "ru-RU", "mjml") == "team-notification.ru.mjml"
    assert templates.resolve("contact-thanks", "ru-RU", "mjml") == "contact-thanks.mjml"
    assert templates.resolve("team-notification", "de", "mjml") == "team-notification.mjml"
    german = render_acknowledgement(templates, echoing(forms), contact(language="de"), {})
    assert "Here is a copy of what you sent us" in german.html


def test_team_notification_reply_to_kind_and_link(forms, templates) -> None:  # type: ignore[no-untyped-def]
    email = render_notification(templates, forms.get("contact"), contact(), "https://admin.example.com")
    assert email.to == ["support@example.com"]  # complaints routed by kind
    assert email.reply_to == "ann@example.com"
    assert email.subject.startswith("[complaint] ")
    # The team opens the case page in a browser (signed in), not the bearer-key JSON API.
    link = "https://admin.example.com/admin/cases/contact/01JCONTACT"
    assert f'href="{link}"' in email.html and link in email.text
    idea = render_notification(templates, forms.get("contact"), contact(feedback_kind="idea",
                                                                        answers={"topic": "idea"}), "https://a")
    assert idea.to == ["team@example.com"] and idea.subject.startswith("[idea] ")


def test_survey_gift_block_link_or_out_of_stock(forms, templates) -> None:  # type: ignore[no-untyped-def]
    survey = forms.get("customer-survey")
    submission = Submission(form="customer-survey", id="01JSURVEY", created_at=datetime.now(UTC), status="received",
                            answers={"nps": 9, "features": ["prices", "support"], "email": "bob@example.com"},
                            language="en", respondent_email="bob@example.com")
    plain = render_acknowledgement(templates, survey, submission, {})
    assert "A thank-you gift" not in plain.html and "Fair prices, Friendly support" in plain.html
    gift = {"url": "https://f.example/g/abc?t=tok&x=1", "title": "Spring coupon", "value": "10% off",
            "out_of_stock": False}
    given = render_acknowledgement(templates, survey, submission, {"gift": gift})
    assert 'href="https://f.example/g/abc?t=tok&amp;x=1"' in given.html and "Spring coupon" in given.html
    assert "Open your gift: https://f.example/g/abc?t=tok&x=1" in given.text
    gone = render_acknowledgement(templates, survey, submission, {"gift": {**gift, "out_of_stock": True, "url": None}})
    assert "all been handed out" in gone.html and "Open your gift" not in gone.html
    assert "all been handed out" in gone.text


@pytest.mark.parametrize("address", ["ann@example.com\r\nBcc: victim@example.com", "a@b.c, other@example.com",
                                     "Ann <ann@example.com>"])
def test_headers_refuse_anything_but_one_clean_address(forms, templates, address) -> None:  # type: ignore[no-untyped-def]
    email = render_notification(templates, forms.get("contact"), contact(), "https://a")
    email.reply_to = address
    with pytest.raises(ValueError):
        to_message(email, SENDER, "<x@example.com>")


def test_subject_line_breaks_cannot_add_headers(forms, templates) -> None:  # type: ignore[no-untyped-def]
    email = render_notification(templates, forms.get("contact"), contact(subject="Hi\r\nBcc: x@example.com"), "h")
    raw = bytes(to_message(email, SENDER, "<x@example.com>"))
    assert b"\r\nBcc:" not in raw


def test_precompiled_bundle_is_used_and_stale_copies_are_ignored(tmp_path: Path) -> None:
    source = tmp_path / "hello.mjml"
    source.write_text("<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ name }}</mj-text>"
                      "</mj-column></mj-section></mj-body></mjml>")
    bundle = tmp_path / "bundle"
    [written] = build_bundle(tmp_path, bundle)
    # Prove the bundle is what is read: mark the precompiled copy.
    written.write_text(written.read_text().replace("Hello", "Bundled hello"))
    assert "Bundled hello {{ name }}" in compiled_html(source, bundle)
    source.write_text(source.read_text().replace("Hello", "Hi"))  # edited after the build
    html = compiled_html(source, bundle)
    assert "Hi {{ name }}" in html and "Bundled" not in html


def test_every_shipped_template_compiles_with_its_tags_intact(tmp_path: Path) -> None:
    names = sorted(p.name for p in TEMPLATES.glob("*.mjml"))
    assert {"contact-thanks.mjml", "survey-thanks.mjml", "team-notification.mjml"} <= set(names)
    for path in build_bundle(TEMPLATES, tmp_path):
        assert path.read_text().startswith("<!-- formloop-mjml sha256=")


def test_loop_moved_out_of_its_table_is_refused() -> None:
    source = "<mj-table>{% for r in rows %}<tr><td>{{ r }}</td></tr>{% endfor %}</mj-table>"
    check_template_tags(source, "<table>{% for r in rows %}<tr><td>{{ r }}</td></tr>{% endfor %}</table>")
    # What an HTML parser's foster-parenting does to text directly inside <table>:
    fostered = "{% for r in rows %}{% endfor %}<table><tbody><tr><td>{{ r }}</td></tr></tbody></table>"
    with pytest.raises(TemplateError, match="moved out of its table"):
        check_template_tags(source, fostered)
    with pytest.raises(TemplateError, match="dropped"):
        check_template_tags(source, "<table><tr><td>{{ r }}</td></tr>{% endfor %}</table>")


def test_recap_skips_unanswered_questions(forms) -> None:  # type: ignore[no-untyped-def]
    rows = recap(forms.get("contact"), {"name": "Ann", "phone": "", "consent": False}, "ru")
    assert [(r.label, r.value) for r in rows] == [("Ваше имя", "Ann"),
                                                  ("Я согласен(на) на хранение сообщения для ответа", "Нет")]
    assert not re.search(r"phone", str(rows))


def test_mail_settings_name_what_is_missing() -> None:
    from chalicelib.core.config import MailSettings, SettingError
    assert MailSettings.from_environ({"FORMLOOP_MAIL_BACKEND": "ses"}).sender == ""  # each email fails, see below
    with pytest.raises(SettingError, match="FORMLOOP_MAIL_BACKEND='sendmail' must be one of outbox, smtp, ses"):
        MailSettings.from_environ({"FORMLOOP_MAIL_BACKEND": "sendmail"})
    ses = MailSettings.from_environ({"FORMLOOP_MAIL_BACKEND": "ses", "FORMLOOP_MAIL_FROM": "Acme <a@acme.example>",
                                     "FORMLOOP_SES_CONFIGURATION_SET": "formloop",
                                     "FORMLOOP_ACK_PER_ADDRESS_PER_DAY": "0",
                                     "FORMLOOP_ADMIN_BASE_URL": "https://forms.acme.example/api/"})
    assert (ses.ses_configuration_set, ses.acknowledgements_per_address_per_day) == ("formloop", 0)
    assert ses.admin_base_url == "https://forms.acme.example/api"


def test_the_acknowledgement_repeats_only_choices_unless_the_form_opts_in(forms, templates) -> None:  # type: ignore[no-untyped-def]
    # A stranger's address in a form must not carry the sender's words from our domain.
    email = render_acknowledgement(templates, forms.get("contact"), contact(), {})
    for part in (email.html, email.text):
        assert "alert" not in part and "Line one" not in part and "Your name" not in part
        assert "Something went wrong" in part  # the topic chosen from the form's own list
        assert "what you wrote yourself is not repeated" in part
    team = render_notification(templates, forms.get("contact"), contact(), "https://admin.example.com")
    assert HOSTILE in team.text and "Line one" in team.text  # the team still reads everything


@pytest.mark.parametrize("language, note", [
    ("en", "what you wrote yourself is not repeated"), ("ru", "в этом письме не повторяется")])
@pytest.mark.parametrize("form, answers", [
    ("contact", {}), ("customer-survey", {"nps": 9, "reason": "Ann <b>wrote</b> this", "email": "ann@example.com"})])
def test_every_shipped_language_says_what_is_left_out(forms, templates, language, note, form, answers) -> None:  # type: ignore[no-untyped-def]
    submission = contact(form=form, language=language, **({"answers": answers} if answers else {}))
    email = render_acknowledgement(templates, forms.get(form), submission, {})
    assert note in email.html and note in email.text
    assert "wrote</b>" not in email.html and "Ann <b>" not in email.text and "alert" not in email.text


def _tags(path: Path) -> list[str]:
    return re.findall(r"\{%-?\s*(.*?)\s*-?%\}", path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("translated", sorted(p.name for p in TEMPLATES.glob("*.*.*")), ids=str)
def test_each_translation_has_every_conditional_line_of_its_original(translated: str) -> None:
    # The same template tags in the same order: no branch (echo, gift, out of stock) left untranslated.
    stem, _language, extension = translated.split(".")
    assert _tags(TEMPLATES / translated) == _tags(TEMPLATES / f"{stem}.{extension}")
