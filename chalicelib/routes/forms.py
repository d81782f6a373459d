"""Public form routes (/f/{form}): submit, the hosted page, its schema and thank-you page, CORS preflight."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from chalicelib.core.errors import MethodNotAllowedError

from .edge import cors, handles_errors, headers, html, params, request, services, wants_json
from .headers import form_policy, iri_to_uri

forms = Blueprint(__name__)

# Every type reaches Formloop, so an unsupported one gets the same clear 415 as the rest (problem+json or a
# page) rather than Chalice's terse {"Code": "UnsupportedMediaType"}; intake/parsing.py decides what is read.
POST_TYPES = ["*/*"]
# What a site's script may send cross-origin; jQuery's $.ajax adds X-Requested-With to every request.
ALLOWED_REQUEST_HEADERS = "Content-Type, Accept, Idempotency-Key, Accept-Language, X-Requested-With"

# The page and the 405 share one URL: a cache must keep them apart.
BY_ACCEPT = {"Vary": "Accept"}


def _json_only(accept: str) -> bool:
    """A client that accepts JSON and not HTML (a script, not a browser tab)."""
    return "json" in accept and "text/html" not in accept


@forms.route("/f/{form_id}", methods=["POST"], content_types=POST_TYPES)
@handles_errors
def submit(form_id: str) -> Response:
    from chalicelib.intake.service import SubmitRequest
    current = request()
    outcome = services().submissions.submit(SubmitRequest(
        form_id=form_id, body=current.raw_body or b"", headers=headers(),
        source_ip=(current.context.get("identity") or {}).get("sourceIp"),
    ))
    allowed = cors(form_id)
    if wants_json(outcome.json_body):
        return Response(body=json.dumps(outcome.as_json()), status_code=201 if outcome.created else 200,
                        headers={"Content-Type": "application/json", **allowed})
    return Response(body="", status_code=303, headers={"Location": iri_to_uri(outcome.redirect_to), **allowed})


@forms.route("/f/{form_id}", methods=["GET"])
@handles_errors
def form_page(form_id: str) -> Response:
    from chalicelib.intake.service import choose_language
    from chalicelib.pages import rendering
    built = services()
    definition = built.submissions.form(form_id)
    params()  # a query it cannot read is a 400 or 413 first, whoever asks
    if _json_only(headers().get("accept", "").lower()):
        # A script that GETs the action URL wants to send answers: say how, rather than hand it a page.
        raise MethodNotAllowedError("This address takes answers with POST (JSON, urlencoded or multipart); "
                                    f"its page is for browsers and its schema is at {form_id}/schema.",
                                    headers={"Allow": "POST", **BY_ACCEPT})
    built.surveys.check_page(definition, built.submissions.clock())  # closed, not open yet, or full
    language = choose_language(definition, params().get("lang"), headers().get("accept-language"))
    from chalicelib.intake.source import page_fields
    source = page_fields(headers().get("referer"), params())  # where the visitor came from, passed on with the post
    return html(rendering.render_form(definition, language, action=form_id, issued=built.submissions.page_token(),
                                      values=source),
                extra=BY_ACCEPT, policy=form_policy(definition))


@forms.route("/f/{form_id}", methods=["OPTIONS"])
@handles_errors
def preflight(form_id: str) -> Response:
    definition = services().submissions.form(form_id)
    services().submissions.check_origin(definition, headers())
    allowed = cors(form_id)
    if allowed:
        allowed.update({"Access-Control-Allow-Methods": "POST", "Access-Control-Max-Age": "600",
                        "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS})
    return Response(body="", status_code=204, headers=dict[str, Any](allowed))


# Whatever the body's type: the method is wrong before the body matters.
@forms.route("/f/{form_id}", methods=["PUT", "PATCH", "DELETE"], content_types=POST_TYPES)
@handles_errors
def wrong_method(form_id: str) -> Response:
    raise MethodNotAllowedError(f"{request().method} is not allowed here; forms are sent with POST.",
                                headers={"Allow": "GET, POST, OPTIONS"})


@forms.route("/f/{form_id}/schema", methods=["GET"])
@handles_errors
def public_schema(form_id: str) -> Response:
    definition = services().submissions.form(form_id)
    return Response(body=json.dumps(definition.public_schema()), status_code=200,
                    headers={"Content-Type": "application/schema+json", **cors(form_id)})


@forms.route("/f/{form_id}/thanks", methods=["GET"])
@handles_errors
def thanks(form_id: str) -> Response:
    from chalicelib.intake.service import choose_language
    from chalicelib.pages import rendering
    submissions = services().submissions
    definition = submissions.form(form_id)
    language = choose_language(definition, params().get("lang"), headers().get("accept-language"))
    # Checked again here: anyone can write a thanks link, but only a page on the form's own sites is linked.
    back = submissions.back_link(definition, params().get("back"))
    return html(rendering.render_thanks(definition, language, back_url=back), policy=form_policy(definition))
