"""What every route shares: the services, the current request, errors -> responses, negotiation, CORS,
reading small bodies, admin authentication."""
from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib.core.errors import DefinitionError, FormloopError, FormUnavailableError, InvalidSubmissionError

if TYPE_CHECKING:
    from chalice import Chalice

    from chalicelib.forms.definitions import FormDefinition
    from chalicelib.wiring import Services

HTML = "text/html; charset=utf-8"
log = logging.getLogger("formloop")

_services: Services | None = None
_app: Chalice | None = None


def attach(app: Chalice) -> None:
    """Tell the edge which app serves the requests (app.py calls this once)."""
    global _app
    from .headers import secure_headers
    _app = app
    app.register_middleware(secure_headers, "http")


def services() -> Services:
    """The services, built from the environment on first use (never at import)."""
    global _services
    if _services is None:
        from chalicelib.core.config import Settings
        from chalicelib.wiring import build_services
        _services = build_services(Settings.from_environ(os.environ))
    return _services


def use_services(replacement: Services | None) -> None:
    """Swap the services (tests build their own against DynamoDB Local)."""
    global _services
    _services = replacement


def request() -> Any:
    """The request being served."""
    current = _app.current_request if _app is not None else None
    assert current is not None, "only called inside a route"
    return current


def headers() -> dict[str, str]:
    """The request's headers, names lower-cased: worked out once per request (callers read it, never change it)."""
    current = request()
    lowered: dict[str, str] | None = getattr(current, "_formloop_headers", None)
    if lowered is None:
        lowered = {k.lower(): v for k, v in current.headers.items()}
        current._formloop_headers = lowered  # type: ignore[attr-defined]
    return lowered


def params() -> dict[str, str]:
    """The query string's parameters (empty when there is none), within the submit path's limits."""
    from chalicelib.intake.parsing import check_parameters
    return check_parameters(dict(request().query_params or {}), services().submissions.limits)


def html(body: str, status: int = 200, extra: dict[str, str] | None = None, *, policy: str | None = None) -> Response:
    """An HTML page under `policy`; without one, the middleware gives the route's default (headers.py)."""
    chosen = {"Content-Security-Policy": policy} if policy else {}
    return Response(body=body, status_code=status, headers={"Content-Type": HTML, **chosen, **(extra or {})})


def json_response(body: Any, status: int = 200, extra: dict[str, str] | None = None) -> Response:
    """A JSON document that no cache keeps (admin and gift answers)."""
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store", **(extra or {})})


def negotiate_json(asked: Mapping[str, str], body_is_json: bool = False) -> bool:
    """Whether a client wants JSON: it asks with Accept, or as jQuery and Formspree's scripts do with
    X-Requested-With (or it sends JSON); browsers get HTML."""
    if asked.get("x-requested-with", "").strip().lower() == "xmlhttprequest":
        return True
    accept = asked.get("accept", "")
    if "application/json" in accept or "application/problem+json" in accept:
        return "text/html" not in accept.split(",")[0]
    return body_is_json


def wants_json(body_is_json: bool = False) -> bool:
    """Whether the current request's client wants JSON (negotiate_json on its headers)."""
    return negotiate_json(headers(), body_is_json)


def wants(kind: str) -> bool:
    """`?format=html|csv|json`, else the first type the client's Accept header lists."""
    chosen = params().get("format")
    if chosen:
        return chosen.lower() == kind
    first = headers().get("accept", "").split(",")[0].split(";")[0].strip().lower()
    return first == {"html": "text/html", "csv": "text/csv", "json": "application/json"}[kind]


def cors(form_id: str | None) -> dict[str, str]:
    """CORS headers for a form's route, only for an origin the form lists."""
    if not form_id:
        return {}
    definition = services().forms.get(form_id)
    origin = headers().get("origin")
    if definition is None or not origin or origin.rstrip("/").lower() not in {
            listed.lower() for listed in definition.allowed_origins}:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": "Location, Retry-After"}


def _safe_cors(form_id: str | None) -> dict[str, str]:
    """An error's CORS headers: only on the public form routes that answer CORS (headers.CORS_ROUTES), so the
    admin API's and the thanks page's errors are never readable from another site."""
    from .headers import CORS_ROUTES
    if str(request().context.get("resourcePath", "")) not in CORS_ROUTES:
        return {}
    try:
        return cors(form_id)
    except DefinitionError:
        return {}


def _safe_form(form_id: str | None) -> FormDefinition | None:
    try:
        return services().forms.get(form_id) if form_id else None
    except DefinitionError:
        return None


def _problem(error: FormloopError, extra: dict[str, str]) -> Response:
    return Response(body=json.dumps(error.problem()), status_code=error.STATUS_CODE,
                    headers={"Content-Type": "application/problem+json", **error.headers, **extra})


def error_response(error: FormloopError, form_id: str | None) -> Response:
    """A domain error as problem+json for scripts, or as a page (the form again, for its own errors) for people."""
    from chalicelib.pages import rendering

    from .headers import form_policy
    current = request()
    extra = _safe_cors(form_id)
    body_is_json = "json" in headers().get("content-type", "")
    if wants_json(body_is_json) or current.method not in ("GET", "POST"):
        return _problem(error, extra)
    # A form's own error page may show inside the frame the form was embedded in.
    owner = _safe_form(form_id) if str(current.context.get("resourcePath", "")).startswith("/f/") else None
    policy = form_policy(owner) if owner is not None else None
    if isinstance(error, InvalidSubmissionError) and error.form_id:
        definition = _safe_form(error.form_id)
        if definition is not None:
            page = rendering.render_form(definition, error.language or definition.locales[0],
                                         action=error.form_id, values=error.values, errors=error.errors)
            return html(page, error.STATUS_CODE, {**error.headers, **extra}, policy=form_policy(definition))
    language = _page_language(owner if owner is not None else _safe_form(form_id))
    return html(rendering.render_error(error, language), error.STATUS_CODE, {**error.headers, **extra},
                policy=policy)


def _page_language(definition: FormDefinition | None) -> str:
    """An error page's language: one its form offers (`?lang=`, then Accept-Language), else one Formloop speaks."""
    from chalicelib.i18n.catalogue import LANGUAGES
    from chalicelib.i18n.negotiation import negotiate
    requested = str((request().query_params or {}).get("lang") or "")[:35] or None
    offered = tuple(definition.locales) if definition is not None else LANGUAGES
    return negotiate(offered, requested, headers().get("accept-language"))


def handles_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn domain errors into responses for every route (Chalice catches them before middleware)."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        form_id = kwargs.get("form_id")
        try:
            return view(*args, **kwargs)
        except FormloopError as error:
            return error_response(error, form_id)
        except DefinitionError as error:
            log.error("broken form definition: %s", error)
            return error_response(
                FormUnavailableError("This form is temporarily unavailable; its owner has been told."), form_id)
    return wrapper


def require_admin() -> None:
    """Raise AdminAuthError (401) unless the request carries a valid admin key."""
    services().admin.check(headers())


def field(name: str) -> str:
    """One text field of a small urlencoded or JSON body (a gift token, a code, an address); empty when absent.

    Read with the submit path's limits and parser, so a hostile body gets the same specific 4xx as a form post.
    """
    from chalicelib.intake.parsing import parse_small_body, text_field
    current = request()
    parsed = parse_small_body(headers().get("content-type"), current.raw_body or b"", services().submissions.limits)
    return text_field(parsed, name)
