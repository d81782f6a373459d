"""Fields another form service reads instead of answers: honeypots and control fields, by service convention."""
from __future__ import annotations

from formloop_cli.html_fields import FieldGroup, control_kind

# Formloop reads these itself, under the same names (Formspree's conventions).
FORMLOOP_CONTROLS = {
    "_replyto": "Formloop's reply-to address (Formspree's name)",
    "_subject": "Formloop's email subject (Formspree's name)",
    "_next": "Formloop's page after sending (Formspree's name)",
    "_language": "Formloop's language field",
    "_idempotency": "Formloop's double-submit key",
    "_gotcha": "Formloop's default honeypot (Formspree's name)",
}
# Honeypots by name: Netlify, Web3Forms, Formspree/Getform/Basin, and the generic ones.
HONEYPOT_NAMES = ("bot-field", "botcheck", "_gotcha", "honeypot", "_honeypot", "_hp")
# `_` fields of other services Formloop has no setting for: posts carrying them are accepted, the values ignored.
IGNORED_UNDERSCORE = {
    "_cc": "copies of the team email go to x-form.notify.to",
    "_bcc": "copies of the team email go to x-form.notify.to",
    "_format": "Formloop answers JSON clients by their Accept header",
    "_template": "Formloop's emails use x-form.acknowledgement templates",
    "_autoresponse": "acknowledgements are x-form.acknowledgement",
    "_captcha": "Formloop's CAPTCHA is x-form.captcha",
    "_blacklist": "Formloop's spam settings are x-form.spam",
    "_url": "Formloop records the Origin header itself",
    "_webhook": "Formloop has no per-form webhook setting in a definition",
}
# Hidden fields other services read without a `_` prefix. Formloop would refuse them as unknown fields, so they
# become hidden questions (the page keeps posting them) pinned to the page's value.
FOREIGN_HIDDEN = {
    "form-name": "Netlify's form name",
    "access_key": "Web3Forms' access key",
    "subject": "Web3Forms' email subject",
    "from_name": "Web3Forms' sender name",
    "redirect": "Web3Forms' page after sending",
    "replyto": "Web3Forms' reply-to address",
    "ccemail": "Web3Forms' copy address",
}
# Hidden fields naming the page after sending, read once into x-form.redirect.
REDIRECT_FIELDS = ("_redirect", "redirect")


def is_honeypot(group: FieldGroup, netlify_honeypot: str | None) -> str | None:
    """Why this field looks like a honeypot, or None."""
    if netlify_honeypot and group.posted_name == netlify_honeypot:
        return "named by the form's netlify-honeypot attribute"
    if group.posted_name in HONEYPOT_NAMES:
        return f"{group.posted_name!r} is a honeypot name by convention"
    kinds = group.kinds()
    typeable = all(kind in ("text", "email", "url", "tel", "textarea", "search", "checkbox") for kind in kinds)
    if typeable and not group.required and all(c.hidden_from_people() for c in group.controls):
        return "a field people cannot see (hidden by the page's own style or class)"
    return None


def is_foreign_hidden(group: FieldGroup) -> bool:
    """A hidden input another service reads as a setting."""
    return group.posted_name in FOREIGN_HIDDEN and all(control_kind(c) == "hidden" for c in group.controls)
