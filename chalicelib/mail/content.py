"""Email content: MJML templates compiled once, filled with autoescaped answers, built as MIME messages.

Templates live in `forms/templates/` as `<name>.mjml` (HTML part) and `<name>.txt` (text part),
with per-language variants `<name>.<lang>.mjml`. MJML is compiled to HTML once — by
`formloop package` (make package) into `chalicelib/bundled/emails/`, or on first use in this process —
never per email. Headers are built only from the definition, settings and values already
validated at submission, written as plain text by `mail.headers` and read back before sending.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.core.clock import utcnow
from chalicelib.core.errors import N_
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, localized
from chalicelib.i18n.catalogue import template_globals, translate
from chalicelib.mail.headers import check_headers, mailbox, sender_parts, text_header

BUNDLED_EMAILS_DIR = Path(__file__).resolve().parents[1] / "bundled" / "emails"
# The first line of a precompiled template: the hash of the MJML it came from, to spot stale copies.
STAMP = "<!-- formloop-mjml sha256={} -->\n"
_JINJA_TAG = re.compile(r"\{%-?\s*(.*?)\s*-?%\}", re.S)

# Formloop's own email wording; its translations are in the catalogues (chalicelib/locales, docs/i18n.md).
WORDING: dict[str, str] = {
    "yes": N_("Yes"), "no": N_("No"), "ack_subject": N_("We received your message: {title}"),
    "survey_subject": N_("Thank you for your answers: {title}"), "new": N_("new submission"),
}


def text(language: str, key: str) -> str:
    """A line of email wording in a language, English where a translation is missing."""
    return translate(language, WORDING[key])


class TemplateError(Exception):
    """An email template is missing or did not compile."""


def mjml_to_html(source: str) -> str:
    """Compile MJML to HTML with mrml, refusing output where a Jinja tag was lost or reordered."""
    try:
        import mrml  # a build tool (requirements-dev.txt): a packaged deployment reads precompiled HTML
    except ImportError:
        raise TemplateError("this template has no precompiled HTML and mrml is not installed: "
                            "package with `formloop package` (make package), which compiles the templates") from None
    html = str(mrml.to_html(source).content)
    check_template_tags(source, html)
    return html


def check_template_tags(source: str, html: str) -> None:
    """Refuse compiled HTML whose Jinja tags differ from the source's, or whose table loops left their table.

    An HTML parser "foster-parents" text found directly inside <table> to before the table, which
    would repeat the recap outside it; mrml keeps `mj-table` content verbatim, and this proves it.
    """
    if _JINJA_TAG.findall(source) != _JINJA_TAG.findall(html):
        raise TemplateError("the MJML compiler moved or dropped template tags; put block tags in <mj-raw>")
    depth = 0
    for match in re.finditer(r"<(/?)table\b|\{%-?\s*(for|endfor)\b", html):
        if match.group(1) is not None:  # <table> or </table>
            depth += -1 if match.group(1) else 1
        elif match.group(2) == "for" and depth == 0 and _loop_in_table(source, match.start(), html):
            raise TemplateError("a loop inside <mj-table> was moved out of its table by the MJML compiler")


def _loop_in_table(source: str, position: int, html: str) -> bool:
    tag = html[position:html.index("%}", position) + 2]
    index = source.find(tag)
    opened = source.rfind("<mj-table", 0, index)
    return opened != -1 and source.find("</mj-table>", opened) > index


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def compiled_html(source_path: Path, bundled_dir: Path = BUNDLED_EMAILS_DIR) -> str:
    """The HTML of one MJML template: the precompiled copy if it matches the source, else compiled now."""
    source = source_path.read_text(encoding="utf-8")
    stamp = STAMP.format(_digest(source))
    bundled = bundled_dir / f"{source_path.stem}.html"
    if bundled.is_file():
        cached = bundled.read_text(encoding="utf-8")
        if cached.startswith(stamp):
            return cached[len(stamp):]
    return mjml_to_html(source)


def build_bundle(templates_dir: Path, bundled_dir: Path = BUNDLED_EMAILS_DIR) -> list[Path]:
    """Compile every MJML template into the bundle folder (the build step); the files written."""
    bundled_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(templates_dir.glob("*.mjml")):
        source = path.read_text(encoding="utf-8")
        target = bundled_dir / f"{path.stem}.html"
        target.write_text(STAMP.format(_digest(source)) + mjml_to_html(source), encoding="utf-8")
        written.append(target)
    return written


class EmailTemplates:
    """Finds a template in the best language and renders it; each is compiled once per process."""

    def __init__(self, templates_dir: Path, bundled_dir: Path = BUNDLED_EMAILS_DIR) -> None:
        self.templates_dir = templates_dir
        self.bundled_dir = bundled_dir

    @property
    def environment(self) -> Any:
        return _environment(self.templates_dir, self.bundled_dir)

    def resolve(self, name: str, language: str, extension: str) -> str:
        """`name.ru-RU.ext`, then `name.ru.ext`, then `name.ext`: a missing translation falls back."""
        for candidate in (f"{name}.{language}", f"{name}.{language.split('-')[0]}", name):
            if (self.templates_dir / f"{candidate}.{extension}").is_file():
                return f"{candidate}.{extension}"
        raise TemplateError(f"no template {name}.{extension} in {self.templates_dir}")

    def render(self, name: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """The HTML and text parts of one email; `_()` in a template is Formloop's wording in `language`."""
        context = {**template_globals(language), **context}
        html = self.environment.get_template(self.resolve(name, language, "mjml")).render(context)
        plain = self.environment.get_template(self.resolve(name, language, "txt")).render(context)
        return str(html), str(plain)


@lru_cache(maxsize=8)
def _environment(templates_dir: Path, bundled_dir: Path) -> Any:
    from jinja2 import Environment, FunctionLoader

    def load(name: str) -> tuple[str, str, Any]:
        path = templates_dir / name
        if not path.is_file():
            raise TemplateError(f"no template {path}")
        mtime = path.stat().st_mtime
        source = compiled_html(path, bundled_dir) if name.endswith(".mjml") else path.read_text(encoding="utf-8")
        # Compiled once; recompiled only if the file changes (a local edit), never per email.
        return source, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime

    return Environment(loader=FunctionLoader(load), autoescape=lambda name: bool(name and name.endswith(".mjml")),
                       keep_trailing_newline=True, auto_reload=True)


@dataclass(frozen=True)
class RecapRow:
    """One answer as the respondent sees it: the question's label and a readable value."""

    label: str
    value: str


def _readable(definition: FormDefinition, name: str, value: Any, language: str) -> str:
    question = definition.question(name)
    choices: Mapping[str, Any] = question.ui.get("choices", {}) if question else {}
    if isinstance(value, bool):
        return text(language, "yes" if value else "no")
    if isinstance(value, list):
        return ", ".join(_readable(definition, name, item, language) for item in value)
    if isinstance(value, str) and value in choices:
        return localized(choices[value], language, value)
    return str(value)


def typed_by_respondent(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether an answer holds text the respondent wrote (not a choice, number, date or yes/no)."""
    if isinstance(value, str):
        return not ("enum" in schema or "const" in schema or schema.get("format") == "date")
    if isinstance(value, list):
        items = schema.get("items")
        return any(typed_by_respondent(items if isinstance(items, Mapping) else {}, item) for item in value)
    if isinstance(value, Mapping):
        rows = schema.get("properties", {})
        return any(typed_by_respondent(rows.get(key, {}), item) for key, item in value.items())
    return False


def recap(definition: FormDefinition, answers: Mapping[str, Any], language: str,
          free_text: bool = True) -> list[RecapRow]:
    """The answers in the form's order, labelled with the questions' own wording; without what the respondent
    wrote themselves unless `free_text`."""
    rows = []
    for question in definition.questions:
        value = answers.get(question.name)
        if value in (None, "", []) or (not free_text and typed_by_respondent(question.schema, value)):
            continue
        rows.append(RecapRow(question.label(language), _readable(definition, question.name, value, language)))
    return rows


def echoes_answers(definition: FormDefinition) -> bool:
    """`x-form.acknowledgement.echo`: the acknowledgement repeats what the respondent wrote (off by default).

    Off, a stranger's address given in a form gets no text of the sender's choosing from our domain.
    """
    return definition.settings.get("acknowledgement", {}).get("echo") is True


@dataclass
class Email:
    """One email ready to become a MIME message."""

    to: list[str]
    subject: str
    html: str
    text: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def language_of(definition: FormDefinition, submission: Submission) -> str:
    """The language chosen at submission (`_language`, Accept-Language, default), if the form has it."""
    if submission.language and submission.language in definition.locales:
        return submission.language
    return definition.locales[0]


def acknowledgement_template(definition: FormDefinition) -> str:
    """The template name: the definition's, else one per form kind."""
    settings = definition.settings.get("acknowledgement", {})
    return str(settings.get("template") or f"{definition.kind}-thanks")


def render_acknowledgement(templates: EmailTemplates, definition: FormDefinition, submission: Submission,
                           extras: Mapping[str, Any]) -> Email:
    """The respondent's acknowledgement, in their language, with the recap and any extra blocks."""
    language = language_of(definition, submission)
    settings = definition.settings.get("acknowledgement", {})
    title = definition.title(language)
    default_subject = text(language, "survey_subject" if definition.kind == "survey" else "ack_subject")
    context = {
        "gift": None, **extras,
        "language": language, "form_title": title, "kind": submission.feedback_kind,
        "intro": localized(settings.get("intro"), language, localized(definition.settings.get("thanks"), language)),
        "recap": recap(definition, submission.answers, language, free_text=echoes_answers(definition)),
        "echo": echoes_answers(definition), "submission_id": submission.id,
    }
    html, plain = templates.render(acknowledgement_template(definition), language, context)
    subject = localized(settings.get("subject"), language, default_subject.format(title=title))
    # RFC 3834: tells autoresponders not to answer an automatic reply (no mail loops).
    return Email(to=[str(submission.respondent_email)], subject=subject, html=html, text=plain,
                 headers={"Auto-Submitted": "auto-replied"})


def notification_recipients(definition: FormDefinition, kind: str | None) -> list[str]:
    """The team addresses for a kind of feedback: `notify.byKind[kind]`, else `notify.to`."""
    notify = definition.settings.get("notify", {})
    by_kind = notify.get("byKind", {})
    return list(by_kind.get(kind) or notify.get("to") or []) if kind else list(notify.get("to") or [])


def submission_link(admin_base_url: str, submission: Submission) -> str:
    """Where the team reads the submission: its case page on the dashboard (a browser signs in there)."""
    return f"{admin_base_url}/admin/cases/{submission.form}/{submission.id}"


def render_notification(templates: EmailTemplates, definition: FormDefinition, submission: Submission,
                        admin_base_url: str) -> Email:
    """The team's notification: kind in the subject, Reply-To the respondent, a link to the submission; in
    `notify.language`, else the form's first language."""
    language = str(definition.settings.get("notify", {}).get("language") or definition.locales[0])
    kind = submission.feedback_kind or definition.kind
    title = definition.title(language)
    wording = localized(definition.settings.get("notify", {}).get("subject"), language,
                        submission.subject or f"{title}: {text(language, 'new')}")
    context = {
        "language": language, "form_title": title, "kind": kind, "form": definition.id,
        "recap": recap(definition, submission.answers, language), "submission_id": submission.id,
        "received_at": submission.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "link": submission_link(admin_base_url, submission),
        "respondent": submission.reply_to or submission.respondent_email,
    }
    html, plain = templates.render("team-notification", language, context)
    return Email(to=notification_recipients(definition, submission.feedback_kind), subject=f"[{kind}] {wording}",
                 html=html, text=plain, reply_to=submission.reply_to or submission.respondent_email)


def to_message(email: Email, sender: str, message_id: str) -> EmailMessage:
    """A MIME message (text and HTML alternatives); ValueError unless its headers are exactly the ones meant.

    Every header is one line of plain text (mail.headers): answers that look like RFC 2047 encoded words
    stay the text they are, and the message is read back from its bytes before anyone is handed it.
    """
    message = EmailMessage(policy=policy.SMTP)
    name, address = sender_parts(sender)
    message["From"] = Address(display_name=name, addr_spec=address)
    recipients = envelope(email.to)
    message["To"] = [Address(addr_spec=to) for to in recipients]
    addresses: dict[str, list[str]] = {"To": recipients}
    if email.reply_to:
        addresses["Reply-To"] = [mailbox(email.reply_to)]
        message["Reply-To"] = Address(addr_spec=addresses["Reply-To"][0])
    texts = {"Subject": email.subject, "Date": format_datetime(utcnow()), "Message-ID": message_id,
             **email.headers}
    for header, value in texts.items():
        message[header] = text_header(header, value)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    check_headers(message, (name, address), texts, addresses)
    return message


def envelope(recipients: list[str]) -> list[str]:
    """The addresses a message goes to, as the mail provider takes them; ValueError for one that is not."""
    return [mailbox(to) for to in recipients]


def message_id_for(sender: str, key: str) -> str:
    """A Message-ID stable per delivery, so a repeated send is recognisably the same email."""
    from email.headerregistry import HeaderRegistry
    parsed = HeaderRegistry()("From", sender)
    domain = parsed.addresses[0].domain if parsed.addresses else "localhost"  # type: ignore[attr-defined]
    local = re.sub(r"[^A-Za-z0-9.-]", ".", key)
    return f"<{local}@{domain or 'localhost'}>"


_OUTBOX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Formloop outbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2430}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.5rem .4rem;border-bottom:1px solid #ddd;
vertical-align:top}td.when{white-space:nowrap;color:#5b6472}td a{font-weight:600}
@media (max-width:40rem){thead{display:none}tr,td{display:block}td{border:0;padding:.1rem 0}
tr{border-bottom:1px solid #ddd;padding:.6rem 0}}</style>
</head><body><p><a href="./">Formloop</a></p><h1>Outbox</h1>
<p>Emails Formloop sent while running locally (newest first), also in {{ folder }}.</p>
{% if entries %}<table><thead><tr><th>Written (UTC)</th><th>To</th><th>Subject</th></tr></thead><tbody>
{% for e in entries %}<tr><td class="when">{{ e.written_at.strftime("%Y-%m-%d %H:%M:%S") }}</td><td>{{ e.to }}</td>
<td><a href="outbox/{{ e.name }}">{{ e.subject or "(no subject)" }}</a></td></tr>
{% endfor %}</tbody></table>
{% else %}<p>No email yet: send a form (e.g. <a href="f/contact">the contact form</a>) and reload.</p>{% endif %}
</body></html>
"""

# Above the email as it was written: which email this is, and the way back to the list.
_OUTBOX_EMAIL_HEADER = """<div style="font:15px/1.5 system-ui,sans-serif;color:#1d2430;background:#eef1f5;\
border-bottom:1px solid #cfd6df;padding:.75rem 1rem;margin:0 0 1rem">
<p style="margin:0 0 .4rem"><a href="../outbox" style="color:#2952cc;font-weight:600">&larr; All emails</a></p>
<dl style="margin:0;display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem">
<dt style="font-weight:600">To</dt><dd style="margin:0;overflow-wrap:anywhere">{{ entry.to }}</dd>
<dt style="font-weight:600">Subject</dt><dd style="margin:0;overflow-wrap:anywhere">{{ entry.subject }}</dd>
<dt style="font-weight:600">Written</dt>
<dd style="margin:0">{{ entry.written_at.strftime("%Y-%m-%d %H:%M:%S") }} UTC</dd>
</dl></div>
"""
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def render_outbox_page(entries: list[Any], folder: str = ".local/outbox") -> str:
    """The local-only page listing the outbox."""
    from jinja2 import Environment
    return str(Environment(autoescape=True).from_string(_OUTBOX_PAGE).render(entries=entries, folder=folder))


def render_outbox_email(entry: Any, email_html: str) -> str:
    """One outbox email as written, under a header with its To, Subject and time and a link back to the list."""
    from jinja2 import Environment
    header = str(Environment(autoescape=True).from_string(_OUTBOX_EMAIL_HEADER).render(entry=entry))
    body = _BODY_TAG.search(email_html)
    if body is None:
        return header + email_html
    return email_html[:body.end()] + header + email_html[body.end():]
