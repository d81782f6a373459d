"""The owner's reply as an email: in the respondent's language, threaded under the acknowledgement."""
from __future__ import annotations

from html import escape

from chalicelib.cases.model import Reply
from chalicelib.core.errors import N_
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, localized
from chalicelib.mail.content import Email, language_of, message_id_for, text

# Formloop's wording, translated through the catalogues (docs/i18n.md).
CONTEXT = N_("This is a reply to the message you sent us on {date}.")


def acknowledgement_id(sender: str, submission: Submission) -> str:
    """The Message-ID the submission's acknowledgement was sent with (the delivery service's stable one)."""
    return message_id_for(sender, f"{submission.form}#{submission.id}.acknowledgement")


def render_reply(definition: FormDefinition, submission: Submission, reply: Reply, sender: str) -> Email:
    """The reply's email: the owner's words, one line of context, `Re:` the acknowledgement's subject, threaded."""
    language = language_of(definition, submission)
    title = definition.title(language)
    settings = definition.settings.get("acknowledgement", {})
    default_subject = text(language, "survey_subject" if definition.kind == "survey" else "ack_subject")
    subject = localized(settings.get("subject"), language, default_subject.format(title=title))
    from chalicelib.i18n.catalogue import translate
    context = translate(language, CONTEXT, date=submission.created_at.strftime("%Y-%m-%d"))
    plain = f"{reply.text.strip()}\n\n-- \n{title}\n{context}\n"
    paragraphs = "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>"
                         for part in reply.text.strip().split("\n\n") if part.strip())
    html = (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8"></head><body>'
            f"{paragraphs}<p>-- <br>{escape(title)}</p><p><small>{escape(context)}</small></p></body></html>")
    thread = acknowledgement_id(sender, submission)
    return Email(to=[str(submission.respondent_email)], subject=f"Re: {subject}",
                 html=html, text=plain, headers={"In-Reply-To": thread, "References": thread})
