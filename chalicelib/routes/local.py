"""Local-only routes: the outbox of emails that `make run` writes instead of sending (404 elsewhere)."""
from __future__ import annotations

from chalice import Blueprint, Response

from .edge import handles_errors, html, services

local = Blueprint(__name__)
NO_STORE = {"Cache-Control": "no-store"}


@local.route("/outbox", methods=["GET"])
@handles_errors
def outbox() -> Response:
    from chalicelib.mail.content import render_outbox_page
    return html(render_outbox_page(services().outbox().entries()), extra=NO_STORE)


@local.route("/outbox/{name}", methods=["GET"])
@handles_errors
def outbox_email(name: str) -> Response:
    return html(services().outbox().read(name), extra=NO_STORE)
