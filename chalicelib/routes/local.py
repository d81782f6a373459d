"""Local-only routes: the start page and the outbox of emails that `make run` writes instead of sending.

Every one answers 404 outside the local stage: a deployed Formloop lists nothing at `/`.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.core.config import LOCAL_STAGE, PROJECT_ROOT
from chalicelib.core.errors import DefinitionError, NotFoundError

from .edge import handles_errors, html, services

local = Blueprint(__name__)
NO_STORE = {"Cache-Control": "no-store"}


@local.route("/", methods=["GET"])
@handles_errors
def home() -> Response:
    from chalicelib.pages.local_home import FormLink, render_local_home
    built = services()
    if built.settings.stage != LOCAL_STAGE:
        raise NotFoundError("There is nothing at this address: forms live under /f/<form>.")
    links = []
    for form_id in built.forms.ids():
        try:
            definition = built.forms.get(form_id)
        except DefinitionError:  # listed anyway: the terminal `make run` runs in says what to fix
            links.append(FormLink(form_id, form_id, "broken: see the error where make run runs"))
            continue
        if definition is not None:
            links.append(FormLink(form_id, definition.title("en"), definition.kind))
    try:
        outbox_count: int | None = built.outbox().count()
    except NotFoundError:  # the local stage sending through SMTP: no outbox to list
        outbox_count = None
    return html(render_local_home(links, outbox_count), extra=NO_STORE)


@local.route("/outbox", methods=["GET"])
@handles_errors
def outbox() -> Response:
    from chalicelib.mail.content import render_outbox_page
    found = services().outbox()
    folder = found.folder.relative_to(PROJECT_ROOT) if found.folder.is_relative_to(PROJECT_ROOT) else found.folder
    return html(render_outbox_page(found.entries(), folder=f"{folder}/"), extra=NO_STORE)


@local.route("/outbox/{name}", methods=["GET"])
@handles_errors
def outbox_email(name: str) -> Response:
    from chalicelib.mail.content import render_outbox_email
    found = services().outbox()
    return html(render_outbox_email(found.entry(name), found.read(name)), extra=NO_STORE)
