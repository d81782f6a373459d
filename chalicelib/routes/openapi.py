"""GET /openapi.json: the OpenAPI 3.1 document of every route, built from the app's own route table."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from .edge import handles_errors, services

contract = Blueprint(__name__)


def served_routes(app: Any) -> dict[str, dict[str, list[str]]]:
    """Each path the app serves, its methods and the content types each method takes."""
    # A route that lets every type reach its own check (routes/media.py) takes only what the check accepts.
    return {path: {method: list(getattr(entry.view_function, "accepted_types", entry.content_types))
                   for method, entry in methods.items()}
            for path, methods in app.routes.items()}


@contract.route("/openapi.json", methods=["GET"])
@handles_errors
def openapi_document() -> Response:
    from chalicelib.pages.openapi import build_document
    forms = services().forms
    schemas = {form_id: forms.require(form_id).public_schema() for form_id in forms.ids()}
    # Chalice records the app when app.py registers the blueprint, and offers no public accessor for it.
    document = build_document(served_routes(contract._current_app), schemas)
    return Response(body=json.dumps(document), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})
