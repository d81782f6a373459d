"""Formloop's HTTP edge: request -> service call -> response. Routes only."""
from __future__ import annotations

import functools
import gc
import json
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Rate, Response

from chalicelib.config import Settings
from chalicelib.errors import (
    DefinitionError,
    FormloopError,
    FormUnavailableError,
    InvalidSubmissionError,
    MethodNotAllowedError,
    NotFoundError,
)
from chalicelib.services import Services, build_services
from chalicelib.submissions import SubmitRequest, choose_language, wants_json

if TYPE_CHECKING:  # imported where used: a cold start that only stores a post never loads gifts
    from chalicelib.gifts import GiftPage, GiftService

app = Chalice(app_name="formloop")
app.api.binary_types.append("multipart/form-data")
log = logging.getLogger("formloop")

# Every type reaches Formloop, so an unsupported one gets the same clear 415 as the rest (problem+json or a
# page) rather than Chalice's terse {"Code": "UnsupportedMediaType"}; parsing.py decides what is read.
POST_TYPES = ["*/*"]
HTML = "text/html; charset=utf-8"

_services: Services | None = None


def services() -> Services:
    """The services, built from the environment on first use (never at import)."""
    global _services
    if _services is None:
        _services = build_services(Settings.from_environ(os.environ))
    return _services


def use_services(replacement: Services | None) -> None:
    """Swap the services (tests build their own against DynamoDB Local)."""
    global _services
    _services = replacement


def _request() -> Any:
    request = app.current_request
    assert request is not None, "only called inside a route"
    return request


def _headers() -> dict[str, str]:
    return {k.lower(): v for k, v in _request().headers.items()}


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": HTML, **(headers or {})})


def _problem(error: FormloopError, headers: dict[str, str]) -> Response:
    return Response(body=json.dumps(error.problem()), status_code=error.STATUS_CODE,
                    headers={"Content-Type": "application/problem+json", **error.headers, **headers})


def _cors(form_id: str | None) -> dict[str, str]:
    if not form_id:
        return {}
    definition = services().forms.get(form_id)
    origin = _headers().get("origin")
    return services().submissions.cors_headers(definition, origin) if definition else {}


def _error_response(error: FormloopError, form_id: str | None) -> Response:
    from chalicelib import rendering
    request = _request()
    headers = _headers()
    cors = _safe_cors(form_id)
    body_is_json = "json" in headers.get("content-type", "")
    if wants_json(headers, body_is_json) or request.method not in ("GET", "POST"):
        return _problem(error, cors)
    if isinstance(error, InvalidSubmissionError) and error.form_id:
        definition = services().forms.get(error.form_id)
        if definition is not None:
            page = rendering.render_form(definition, error.language or definition.locales[0],
                                         action=error.form_id, values=error.values, errors=error.errors)
            return _html(page, error.STATUS_CODE, {**error.headers, **cors})
    return _html(rendering.render_message(error.TITLE, error.message), error.STATUS_CODE, {**error.headers, **cors})


def _safe_cors(form_id: str | None) -> dict[str, str]:
    try:
        return _cors(form_id)
    except DefinitionError:
        return {}


def handles_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn domain errors into responses for every route (Chalice catches them before middleware)."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        form_id = kwargs.get("form_id")
        try:
            return view(*args, **kwargs)
        except FormloopError as error:
            return _error_response(error, form_id)
        except DefinitionError as error:
            log.error("broken form definition: %s", error)
            return _error_response(
                FormUnavailableError("This form is temporarily unavailable; its owner has been told."), form_id)
    return wrapper


def require_admin() -> None:
    """Raise AdminAuthError (401) unless the request carries a valid admin key."""
    services().admin.check(_headers())


def deliver_stream_batch(event: Any) -> None:
    """Hand each new submission in a DynamoDB Streams batch to every post-write consumer (as the local worker does).

    Raises after the whole batch if a consumer failed, so Lambda offers the batch again; consumers are idempotent.
    """
    from chalicelib.pipeline import ConsumerFailedError, handle_stream_record
    failures = [failure for record in event
                for failure in handle_stream_record(services(), record.event_name, record.new_image)]
    if failures:
        raise ConsumerFailedError(f"{len(failures)} consumer failure(s), first: {failures[0]!r}")


# The stream of the submissions table (from `chalice package`'s infra); unset locally, where scripts/worker.py reads it.
if os.environ.get("FORMLOOP_SUBMISSIONS_STREAM_ARN"):
    @app.on_dynamodb_record(stream_arn=os.environ["FORMLOOP_SUBMISSIONS_STREAM_ARN"], batch_size=10,
                            starting_position="TRIM_HORIZON")
    def on_submission_stored(event: Any) -> None:
        deliver_stream_batch(event)


# Emails whose mail provider kept failing wait for a later round (chalicelib/delivery.py); this gives them one.
@app.schedule(Rate(5, unit=Rate.MINUTES))
def retry_waiting_emails(event: Any) -> None:
    from chalicelib.pipeline import retry_waiting_emails as retry
    retry(services())


# Gifts past their date are refused by the write conditions anyway; recording it keeps the stock report true.
@app.schedule(Rate(1, unit=Rate.HOURS))
def expire_gifts(event: Any) -> None:
    from chalicelib.pipeline import expire_gifts as expire
    expire(services())


@app.route("/outbox", methods=["GET"])
@handles_errors
def outbox() -> Response:
    from chalicelib.emails import render_outbox_page
    return _html(render_outbox_page(services().outbox().entries()), headers={"Cache-Control": "no-store"})


@app.route("/outbox/{name}", methods=["GET"])
@handles_errors
def outbox_email(name: str) -> Response:
    return _html(services().outbox().read(name), headers={"Cache-Control": "no-store"})


@app.route("/f/{form_id}", methods=["POST"], content_types=POST_TYPES)
@handles_errors
def submit(form_id: str) -> Response:
    request = _request()
    outcome = services().submissions.submit(SubmitRequest(
        form_id=form_id, body=request.raw_body or b"", headers=_headers(),
        source_ip=(request.context.get("identity") or {}).get("sourceIp"),
    ))
    cors = _cors(form_id)
    if outcome.wants_json:
        return Response(body=json.dumps(outcome.as_json()), status_code=201 if outcome.created else 200,
                        headers={"Content-Type": "application/json", **cors})
    return Response(body="", status_code=303, headers={"Location": outcome.redirect_to, **cors})


@app.route("/f/{form_id}", methods=["GET"])
@handles_errors
def form_page(form_id: str) -> Response:
    from chalicelib import rendering
    definition = services().submissions.form(form_id)
    services().surveys.check_page(definition, services().submissions.clock())  # closed, not open yet, or full
    params = _request().query_params or {}
    language = choose_language(definition, params.get("lang"), _headers().get("accept-language"))
    return _html(rendering.render_form(definition, language, action=form_id,
                                         issued=services().submissions.page_token()))


@app.route("/f/{form_id}", methods=["OPTIONS"])
@handles_errors
def preflight(form_id: str) -> Response:
    definition = services().submissions.form(form_id)
    services().submissions.check_origin(definition, _headers())
    cors = _cors(form_id)
    if cors:
        cors.update({"Access-Control-Allow-Methods": "POST", "Access-Control-Max-Age": "600",
                     "Access-Control-Allow-Headers": "Content-Type, Accept, Idempotency-Key, Accept-Language"})
    return Response(body="", status_code=204, headers=dict[str, Any](cors))


@app.route("/f/{form_id}", methods=["PUT", "PATCH", "DELETE"])
@handles_errors
def wrong_method(form_id: str) -> Response:
    raise MethodNotAllowedError(f"{_request().method} is not allowed here; forms are sent with POST.",
                                headers={"Allow": "GET, POST, OPTIONS"})


@app.route("/f/{form_id}/schema", methods=["GET"])
@handles_errors
def public_schema(form_id: str) -> Response:
    definition = services().submissions.form(form_id)
    return Response(body=json.dumps(definition.public_schema()), status_code=200,
                    headers={"Content-Type": "application/schema+json", **_cors(form_id)})


@app.route("/f/{form_id}/thanks", methods=["GET"])
@handles_errors
def thanks(form_id: str) -> Response:
    from chalicelib import rendering
    definition = services().submissions.form(form_id)
    params = _request().query_params or {}
    language = choose_language(definition, params.get("lang"), _headers().get("accept-language"))
    return _html(rendering.render_thanks(definition, language))


def _wants(kind: str) -> bool:
    """`?format=html|csv|json`, else the first type the client's Accept header lists."""
    params = _request().query_params or {}
    if params.get("format"):
        return str(params["format"]).lower() == kind
    first = _headers().get("accept", "").split(",")[0].split(";")[0].strip().lower()
    return first == {"html": "text/html", "csv": "text/csv", "json": "application/json"}[kind]


def _json(body: Any, status: int = 200) -> Response:
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


@app.route("/admin/forms/{form_id}/results", methods=["GET"])
@handles_errors
def admin_results(form_id: str) -> Response:
    require_admin()
    from chalicelib import results
    language = (_request().query_params or {}).get("lang")
    summary = services().results.summary(form_id, language)
    if _wants("html"):
        return _html(results.render_results_page(summary), headers={"Cache-Control": "no-store"})
    return _json(summary)


@app.route("/admin/forms/{form_id}/submissions", methods=["GET"])
@handles_errors
def admin_submissions(form_id: str) -> Response:
    require_admin()
    params = _request().query_params or {}
    if _wants("csv"):
        export = services().exports.csv(form_id, cursor=params.get("cursor"), status=params.get("status"))
        headers: dict[str, str | list[str]] = {"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
                   "Content-Disposition": f'attachment; filename="{form_id}.csv"'}
        if export.next_cursor:
            headers["Link"] = f'<?format=csv&cursor={export.next_cursor}>; rel="next"'
        return Response(body=export.body, status_code=200, headers=headers)
    return _json(services().exports.page(form_id, cursor=params.get("cursor"), limit=params.get("limit"),
                                         status=params.get("status")))


@app.route("/admin/forms/{form_id}/submissions/{submission_id}", methods=["GET"])
@handles_errors
def admin_submission(form_id: str, submission_id: str) -> Response:
    require_admin()
    return _json(services().exports.one(form_id, submission_id))


@app.route("/admin/forms/{form_id}/submissions/{submission_id}", methods=["DELETE"])
@handles_errors
def delete_submission(form_id: str, submission_id: str) -> Response:
    require_admin()
    _address_requests().removal.delete(form_id, submission_id)
    return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})


def _address_requests() -> Any:
    from chalicelib.erasure import AddressRequests
    from chalicelib.removal import SubmissionRemoval
    built = services()
    removal = SubmissionRemoval(built.forms, built.store, built.surveys, built.results,
                                built.delivery.store if built.delivery else None)
    return AddressRequests(built.store, removal)


ADMIN_POST_TYPES = ["application/x-www-form-urlencoded", "application/json"]


@app.route("/admin/addresses/export", methods=["POST"], content_types=ADMIN_POST_TYPES)
@handles_errors
def export_address() -> Response:
    require_admin()
    return _json(_address_requests().export(_field("email"), _field("cursor") or None))


@app.route("/admin/addresses/erase", methods=["POST"], content_types=ADMIN_POST_TYPES)
@handles_errors
def erase_address() -> Response:
    require_admin()
    return _json(_address_requests().erase(_field("email"), _field("cursor") or None))


# --- thank-you gifts (docs/gifts.md) ---------------------------------------------------------------------------

# The link carries the token: keep it out of caches, other sites' logs and search engines.
GIFT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
GIFT_POST_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain"]
CODES_TYPES = ["text/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel"]


def _gifts() -> GiftService:
    gifts = services().gifts
    if gifts is None:
        raise NotFoundError("Gifts are not set up on this server.")
    return gifts


def _gift_html(page: GiftPage) -> Response:
    from chalicelib.gift_pages import render_page
    return _html(render_page(page), headers=GIFT_HEADERS)


def _field(name: str) -> str:
    from chalicelib.gift_pages import form_field
    return form_field(_request().raw_body or b"", _headers().get("content-type"), name)


def _gift_json(body: Any) -> Response:
    return Response(body=json.dumps(body), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


@app.route("/g/{gift_id}", methods=["GET"])
@handles_errors
def gift_page(gift_id: str) -> Response:
    return _gift_html(_gifts().view(gift_id, (_request().query_params or {}).get("t", "")))


@app.route("/g/{gift_id}", methods=["POST"], content_types=GIFT_POST_TYPES)
@handles_errors
def claim_gift(gift_id: str) -> Response:
    return _gift_html(_gifts().claim(gift_id, _field("t")))


@app.route("/g/{gift_id}/redeem", methods=["POST"], content_types=GIFT_POST_TYPES)
@handles_errors
def redeem_own_gift(gift_id: str) -> Response:
    return _gift_html(_gifts().redeem_own(gift_id, _field("t")))


@app.route("/admin/gifts/redeem", methods=["POST"], content_types=GIFT_POST_TYPES)
@handles_errors
def redeem_gift_code() -> Response:
    require_admin()
    redemption = _gifts().redeem_code(_field("code"))
    return _gift_json({"redeemed": True, "code": redemption.code, "campaign": redemption.campaign,
                  "redeemedAt": redemption.redeemed_at.isoformat(), "redeemedBy": redemption.redeemed_by})


@app.route("/admin/gifts/revoke", methods=["POST"], content_types=GIFT_POST_TYPES)
@handles_errors
def revoke_gift() -> Response:
    require_admin()
    gift = _gifts().revoke(_field("gift"))
    return _gift_json({"gift": gift.id, "state": gift.state, "campaign": gift.campaign})


@app.route("/admin/gifts/{campaign}/codes", methods=["POST"], content_types=CODES_TYPES)
@handles_errors
def load_gift_codes(campaign: str) -> Response:
    require_admin()
    return _gift_json(_gifts().load_upload(campaign, _request().raw_body or b""))


@app.route("/admin/gifts/{campaign}/stock", methods=["GET"])
@handles_errors
def gift_stock(campaign: str) -> Response:
    require_admin()
    return _gift_json(_gifts().stock(campaign))


# What the module imported above (Chalice, PynamoDB, botocore, the routes) lives as long as the process.
# Frozen, the collector's full passes skip it: the first request, which loads DynamoDB's service model,
# otherwise triggers one that walks all of it (about 40 ms of every cold start, measured by `make bench`).
gc.freeze()
