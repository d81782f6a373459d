"""The OpenAPI 3.1 document of Formloop's HTTP interface: every route the app serves, each form's schema as the
body of its post, problem+json errors, and how admin routes authenticate.

Built from the app's own route table (routes/openapi.py hands it in), so a new route shows up here by itself;
what each route answers is written down in OPERATIONS, and a test fails when a route has no entry there.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# What every route may answer whatever it is: a body or query it cannot read, nothing there, a body too large or
# of a type it does not take, and the store refusing writes for a moment.
COMMON_ERRORS = ("400", "404", "405", "413", "415", "503")
FORM_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Operation:
    """What one route does and answers: its statuses map to a kind of answer (see _response)."""

    summary: str
    tag: str
    answers: Mapping[str, str]
    errors: tuple[str, ...] = ()
    auth: str | None = None  # "bearer" for the admin API, "session" for the dashboard's pages
    body: str | None = None  # "form" (a form's answers), "fields" (a few named fields), "codes" (a CSV of codes)
    query: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("/f/{form_id}", "POST"): Operation(
        "Submit answers: 201/200 JSON for scripts, 303 to the thank-you page for browsers", "forms",
        {"201": "submitted", "200": "submitted", "303": "redirect"}, ("403", "409", "422", "429"), body="form"),
    ("/f/{form_id}", "GET"): Operation("The form as an accessible HTML page", "forms", {"200": "html"},
                                       ("403", "410"), query=("lang",)),
    ("/f/{form_id}", "OPTIONS"): Operation("CORS preflight for a form's allowed origins", "forms",
                                           {"204": "empty"}, ("403",)),
    ("/f/{form_id}", "PUT"): Operation("Not allowed: forms are sent with POST", "forms", {}),
    ("/f/{form_id}", "PATCH"): Operation("Not allowed: forms are sent with POST", "forms", {}),
    ("/f/{form_id}", "DELETE"): Operation("Not allowed: forms are sent with POST", "forms", {}),
    ("/f/{form_id}/schema", "GET"): Operation("The form's public JSON Schema", "forms", {"200": "schema"}),
    ("/f/{form_id}/thanks", "GET"): Operation("The default thank-you page", "forms", {"200": "html"},
                                              query=("lang", "back")),
    ("/g/{gift_id}", "GET"): Operation("The gift page (changes nothing)", "gifts", {"200": "html"},
                                       ("403", "409", "410", "429"), query=("t",)),
    ("/g/{gift_id}", "POST"): Operation("Claim the gift and show its code", "gifts", {"200": "html"},
                                        ("403", "409", "410", "429"), body="fields"),
    ("/g/{gift_id}/redeem", "POST"): Operation("Mark one's own gift code as used", "gifts", {"200": "html"},
                                               ("403", "409", "410", "429"), body="fields"),
    ("/admin/forms/{form_id}/results", "GET"): Operation(
        "Results per question, NPS, by kind and by day (JSON, or HTML with charts)", "admin",
        {"200": "json-or-html"}, ("401",), "bearer", query=("format",)),
    ("/admin/forms/{form_id}/submissions", "GET"): Operation(
        "Submissions, a page at a time (JSON, or CSV with ?format=csv)", "admin", {"200": "json-or-csv"},
        ("401",), "bearer", query=("format", "cursor", "limit", "status")),
    ("/admin/forms/{form_id}/submissions/{submission_id}", "GET"): Operation(
        "One submission", "admin", {"200": "json"}, ("401",), "bearer"),
    ("/admin/forms/{form_id}/submissions/{submission_id}", "DELETE"): Operation(
        "Remove a submission and everything derived from it", "admin", {"204": "empty"}, ("401",), "bearer"),
    ("/admin/addresses/export", "POST"): Operation(
        "Every submission from an address, a few seconds of reading per call", "admin", {"200": "json"},
        ("401",), "bearer", body="fields"),
    ("/admin/addresses/erase", "POST"): Operation(
        "Erase every submission from an address, a few seconds of work per call", "admin", {"200": "json"},
        ("401",), "bearer", body="fields"),
    ("/admin/gifts/redeem", "POST"): Operation("Redeem a gift code at the till", "admin", {"200": "json"},
                                               ("401", "409", "410", "422"), "bearer", body="fields"),
    ("/admin/gifts/revoke", "POST"): Operation("Revoke a gift", "admin", {"200": "json"},
                                               ("401", "409", "410", "422"), "bearer", body="fields"),
    ("/admin/gifts/{campaign}/codes", "POST"): Operation("Import gift codes (one a line)", "admin", {"200": "json"},
                                                         ("401", "422"), "bearer", body="codes"),
    ("/admin/gifts/{campaign}/stock", "GET"): Operation("A campaign's stock of codes", "admin", {"200": "json"},
                                                        ("401",), "bearer"),
    ("/admin/forms/{form_id}/webhooks", "GET"): Operation("A form's webhook deliveries", "admin", {"200": "json"},
                                                          ("401",), "bearer"),
    ("/admin/forms/{form_id}/webhooks/{target}/events/{event_id}/retry", "POST"): Operation(
        "Send one webhook event again", "admin", {"200": "json"}, ("401", "409"), "bearer", body="fields"),
    ("/admin/forms/{form_id}/webhooks/{target}/replay", "POST"): Operation(
        "Replay a form's events since a time to one webhook", "admin", {"202": "json"}, ("401", "409"), "bearer",
        body="fields"),
    ("/admin", "GET"): Operation("The dashboard's sign-in page (to the inbox when signed in)", "dashboard",
                                 {"200": "html", "303": "redirect"}),
    ("/admin/sign-in", "POST"): Operation("Sign in to the dashboard with an admin key", "dashboard",
                                          {"303": "redirect", "401": "html"}, ("403", "429"), body="fields"),
    ("/admin/sign-out", "POST"): Operation("Sign out of the dashboard", "dashboard", {"303": "redirect"},
                                           ("403",), "session", body="fields"),
    ("/admin/inbox", "GET"): Operation("The inbox of cases", "dashboard", {"200": "html", "303": "redirect"},
                                       auth="session", query=("folder", "form", "kind", "status", "cursor")),
    ("/admin/results/{form_id}", "GET"): Operation(
        "A form's results in the dashboard: charts, NPS by week, sources, gift stock", "dashboard",
        {"200": "html", "303": "redirect"}, auth="session", query=("lang",)),
    ("/admin/results/{form_id}/csv", "GET"): Operation(
        "A form's submissions as CSV, as the admin API exports them", "dashboard",
        {"200": "csv", "303": "redirect"}, auth="session", query=("cursor", "status")),
    ("/admin/cases/{form_id}/{submission_id}", "GET"): Operation(
        "One case: the answers, replies and deliveries", "dashboard", {"200": "html", "303": "redirect"},
        auth="session"),
    ("/admin/cases/{form_id}/{submission_id}/status", "POST"): Operation(
        "Change a case's status", "dashboard", {"303": "redirect"}, ("403", "409", "422"), "session", body="fields"),
    ("/admin/cases/{form_id}/{submission_id}/reply", "POST"): Operation(
        "Reply to the respondent", "dashboard", {"303": "redirect"}, ("403", "409", "422"), "session",
        body="fields"),
    ("/admin/cases/{form_id}/{submission_id}/decision", "POST"): Operation(
        "Record the team's decision on a case", "dashboard", {"303": "redirect"}, ("403", "409", "422"), "session",
        body="fields"),
    ("/admin/cases/{form_id}/{submission_id}/outcome", "POST"): Operation(
        "Record a case's outcome", "dashboard", {"303": "redirect"}, ("403", "409", "422"), "session",
        body="fields"),
    ("/admin/cases/{form_id}/{submission_id}/resend", "POST"): Operation(
        "Send a failed or skipped email of a case again", "dashboard", {"303": "redirect"}, ("403", "409", "422"),
        "session", body="fields"),
    ("/admin/cases/{form_id}/{submission_id}/not-spam", "POST"): Operation(
        "Move a case out of the spam folder into the inbox", "dashboard", {"303": "redirect"}, ("403", "409"),
        "session", body="fields"),
    ("/admin/cases/{form_id}/{submission_id}/delete", "POST"): Operation(
        "Delete a case's submission", "dashboard", {"303": "redirect"}, ("403", "409"), "session", body="fields"),
    ("/", "GET"): Operation("Local only: the forms to try and the outbox", "local", {"200": "html"}),
    ("/outbox", "GET"): Operation("Local only: the emails written instead of sent", "local", {"200": "html"}),
    ("/outbox/{name}", "GET"): Operation("Local only: one email of the outbox", "local", {"200": "html"}),
    ("/openapi.json", "GET"): Operation("This document", "contract", {"200": "openapi"}),
}

_PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["pointer", "field", "message"],
            "properties": {"pointer": {"type": "string"}, "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
# Chalice itself refuses a body type a route does not list, before any of Formloop's code runs, in its own shape.
_CHALICE_ERROR = {"type": "object", "required": ["Code", "Message"],
                  "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}}}
_SUBMITTED = {"type": "object", "required": ["id", "form", "status"],
              "properties": {"id": {"type": "string"}, "form": {"type": "string"}, "status": {"type": "string"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}
_JSON = {"application/json": {"schema": {"type": "object"}}}
_FIELDS = {"type": "object", "additionalProperties": {"type": "string"}}


def _response(kind: str) -> dict[str, Any]:
    """One documented answer of a kind named in OPERATIONS."""
    described: dict[str, dict[str, Any]] = {
        "html": {"description": "An HTML page", "content": _HTML},
        "json": {"description": "A JSON document", "content": _JSON},
        "json-or-html": {"description": "JSON, or an HTML page with ?format=html or Accept: text/html",
                         "content": {**_JSON, **_HTML}},
        "csv": {"description": "A CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}},
        "json-or-csv": {"description": "JSON, or CSV with ?format=csv",
                        "content": {**_JSON, "text/csv": {"schema": {"type": "string"}}}},
        "schema": {"description": "The form's public JSON Schema (2020-12)",
                   "content": {"application/schema+json": {"schema": {"type": "object"}}}},
        "submitted": {"description": "Stored (201), or the same post again (200)",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submitted"}}}},
        "redirect": {"description": "See the page in Location",
                     "headers": {"Location": {"schema": {"type": "string"}}}},
        "empty": {"description": "No content"},
        "openapi": {"description": "This OpenAPI document", "content": _JSON},
    }
    return copy.deepcopy(described[kind])


def _problem_component(status: str) -> dict[str, Any]:
    content: dict[str, Any] = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
                               **_HTML}
    if status == "415":
        content["application/json"] = {"schema": {"$ref": "#/components/schemas/ChaliceError"}}
    return {"description": "An RFC 9457 problem for scripts, or a page for browsers", "content": content}


def _problem_response(status: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Problem{status}"}


def _parameters(path: str, query: Iterable[str]) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    found = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]
    return found + [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in query]


def _body(kind: str, content_types: Iterable[str], schema: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "codes":
        return {"required": True, "content": {"text/csv": {"schema": {"type": "string"}},
                                              "text/plain": {"schema": {"type": "string"}}}}
    types = [t for t in content_types if t != "*/*"] or list(FORM_BODY_TYPES)
    return {"required": True, "content": {t: {"schema": copy.deepcopy(dict(schema))} for t in types
                                          if t != "text/plain"}}


def _operation(path: str, method: str, content_types: Iterable[str], form_schema: Mapping[str, Any] | None,
               form_id: str | None = None) -> dict[str, Any]:
    described = OPERATIONS.get((path, method)) or Operation("Not described yet", "undocumented", {})
    name = f"{method.lower()}_{path}" if form_id is None else f"{method.lower()}_{path}_{form_id}"
    operation: dict[str, Any] = {
        "operationId": "".join(c if c.isalnum() else "_" for c in name).strip("_"),
        "summary": described.summary, "tags": [described.tag],
        "responses": {status: _response(kind) for status, kind in described.answers.items()},
    }
    for status in sorted({*COMMON_ERRORS, *described.errors} - set(described.answers)):
        operation["responses"][status] = _problem_response(status)
    parameters = _parameters(path if form_id is None else "/", described.query)
    if parameters:
        operation["parameters"] = parameters
    if described.body:
        schema = form_schema if described.body == "form" and form_schema is not None else (
            {"type": "object"} if described.body == "form" else _FIELDS)
        operation["requestBody"] = _body(described.body, content_types, schema)
    if described.auth:
        operation["security"] = [{"bearerAuth": []}] if described.auth == "bearer" else [{"dashboardSession": []}]
        operation["responses"].setdefault("401", _problem_response("401"))
    return operation


def build_document(routes: Mapping[str, Mapping[str, Iterable[str]]], form_schemas: Mapping[str, Mapping[str, Any]],
                   *, server: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document: `routes` maps each path to its methods and their content types, `form_schemas`
    each form id to its public schema (what /f/{form}/schema serves)."""
    paths: dict[str, dict[str, Any]] = {}
    for path in sorted(routes):
        paths[path] = {method.lower(): _operation(path, method, types, None)
                       for method, types in sorted(routes[path].items())}
    submit_types = routes.get("/f/{form_id}", {}).get("POST", FORM_BODY_TYPES)
    for form_id in sorted(form_schemas):
        # A concrete path is matched before its template (OpenAPI 3.1, "Path Templating"): each form's own post.
        ref = {"$ref": f"#/components/schemas/form-{form_id}"}
        paths[f"/f/{form_id}"] = {
            "post": _operation("/f/{form_id}", "POST", submit_types, ref, form_id),
            "get": _operation("/f/{form_id}", "GET", (), None, form_id),
        }
    statuses = sorted({*COMMON_ERRORS, *(s for o in OPERATIONS.values() for s in o.errors), "401"})
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {"title": "Formloop", "version": "1",
                 "description": "A form backend: post answers to /f/{form}; admin routes need a bearer key."},
        "paths": paths,
        "components": {
            "schemas": {"Problem": _PROBLEM, "Submitted": _SUBMITTED, "ChaliceError": _CHALICE_ERROR,
                        **{f"form-{form_id}": copy.deepcopy(dict(schema))
                           for form_id, schema in sorted(form_schemas.items())}},
            "responses": {f"Problem{status}": _problem_component(status) for status in statuses},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An admin key"},
                "dashboardSession": {"type": "apiKey", "in": "cookie", "name": "formloop_session"},
            },
        },
    }
    if server:
        document["servers"] = [{"url": server}]
    return document
