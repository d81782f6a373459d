"""The letters a case's reaction sends the client: a resolved complaint's "is it fixed?", an idea's decision, and
the praise thank-you; in the respondent's language, threaded under the acknowledgement like the owner's replies."""
from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from chalicelib.cases.model import ACCEPTED, DECISION, FIXED, Letter
from chalicelib.cases.reactions import next_product
from chalicelib.cases.replies import acknowledgement_id
from chalicelib.core.errors import N_
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, localized
from chalicelib.mail.content import Email, language_of

# Formloop's wording, translated through the catalogues (docs/i18n.md); {date} and {title} are filled after.
WORDING: dict[str, str] = {
    "fixed_subject": N_("Is it fixed? {title}"),
    "fixed": N_("We have worked on the problem you told us about on {date}, and we believe it is solved now. "
                "Is it fixed for you? Simply reply to this email and tell us: yes, or what is still wrong."),
    "accepted_subject": N_("Your idea: we are doing it · {title}"),
    "declined_subject": N_("Your idea: our decision · {title}"),
    "accepted": N_("Thank you for the idea you sent us on {date}. We looked at it closely and decided to do it."),
    "declined": N_("Thank you for the idea you sent us on {date}. We looked at it closely, and decided not to do "
                   "it for now."),
    "thanks_subject": N_("Thank you · {title}"),
    "thanks": N_("Thank you for your kind words on {date}. They mean a lot to the whole team."),
    "next": N_("You might also like: {title}"),
}


def _wording(language: str, key: str, **params: str) -> str:
    from chalicelib.i18n.catalogue import translate
    return translate(language, WORDING[key], **params)


def _subject_and_body(letter: Letter) -> tuple[str, str]:
    if letter.kind == FIXED:
        return "fixed_subject", "fixed"
    if letter.kind == DECISION:
        chosen = "accepted" if letter.decision == ACCEPTED else "declined"
        return f"{chosen}_subject", chosen
    return "thanks_subject", "thanks"


def render_letter(definition: FormDefinition, submission: Submission, letter: Letter, sender: str) -> Email:
    """A reaction's letter to the respondent: its wording, the owner's note, and for praise the next product."""
    language = language_of(definition, submission)
    title = definition.title(language)
    subject_key, body_key = _subject_and_body(letter)
    paragraphs = [_wording(language, body_key, date=submission.created_at.strftime("%Y-%m-%d"))]
    if letter.note.strip():
        paragraphs.append(letter.note.strip())
    link: Mapping[str, Any] | None = next_product(definition.settings) if letter.kind not in (FIXED, DECISION) \
        else None
    plain = "\n\n".join(paragraphs)
    html_parts = "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs)
    if link is not None:
        product = localized(link.get("title"), language, str(link["url"]))
        plain += f"\n\n{_wording(language, 'next', title=product)}\n{link['url']}"
        html_parts += (f'<p>{escape(_wording(language, "next", title=""))}'
                       f'<a href="{escape(str(link["url"]))}">{escape(product)}</a></p>')
    plain += f"\n\n-- \n{title}\n"
    html = (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8"></head><body>'
            f"{html_parts}<p>-- <br>{escape(title)}</p></body></html>")
    thread = acknowledgement_id(sender, submission)
    return Email(to=[str(submission.respondent_email)], subject=_wording(language, subject_key, title=title),
                 html=html, text=plain, headers={"In-Reply-To": thread, "References": thread})
