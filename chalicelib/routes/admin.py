"""The admin API (/admin/…): results, submissions and their export, deletion, requests about one address,
gift campaigns. Every route needs `Authorization: Bearer <key>`; no GET changes anything."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from .edge import field, handles_errors, html, json_response, params, request, require_admin, services, wants
from .gifts import GIFT_POST_TYPES, gift_service
from .media import ANY_TYPE, takes

admin = Blueprint(__name__)

NO_STORE = {"Cache-Control": "no-store"}
ADMIN_POST_TYPES = ["application/x-www-form-urlencoded", "application/json"]
CODES_TYPES = ["text/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel"]


@admin.route("/admin/forms/{form_id}/results", methods=["GET"])
@handles_errors
def admin_results(form_id: str) -> Response:
    require_admin()
    from chalicelib.reporting import results
    summary = services().results.summary(form_id, params().get("lang"))
    if wants("html"):
        return html(results.render_results_page(summary), extra=NO_STORE)
    return json_response(summary)


@admin.route("/admin/forms/{form_id}/submissions", methods=["GET"])
@handles_errors
def admin_submissions(form_id: str) -> Response:
    require_admin()
    query = params()
    if wants("csv"):
        export = services().exports.csv(form_id, cursor=query.get("cursor"), status=query.get("status"))
        extra: dict[str, str | list[str]] = {
            "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{form_id}.csv"'}
        if export.next_cursor:
            extra["Link"] = f'<?format=csv&cursor={export.next_cursor}>; rel="next"'
        return Response(body=export.body, status_code=200, headers=extra)
    return json_response(services().exports.page(form_id, cursor=query.get("cursor"), limit=query.get("limit"),
                                                 status=query.get("status")))


@admin.route("/admin/forms/{form_id}/submissions/{submission_id}", methods=["GET"])
@handles_errors
def admin_submission(form_id: str, submission_id: str) -> Response:
    require_admin()
    return json_response(services().exports.one(form_id, submission_id))


@admin.route("/admin/forms/{form_id}/submissions/{submission_id}", methods=["DELETE"])
@handles_errors
def delete_submission(form_id: str, submission_id: str) -> Response:
    require_admin()
    services().removal.delete(form_id, submission_id)
    return Response(body="", status_code=204, headers=dict[str, str | list[str]](NO_STORE))


@admin.route("/admin/addresses/export", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*ADMIN_POST_TYPES, problem_only=True)
def export_address() -> Response:
    require_admin()
    return json_response(services().addresses.export(field("email"), field("cursor") or None))


@admin.route("/admin/addresses/erase", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*ADMIN_POST_TYPES, problem_only=True)
def erase_address() -> Response:
    require_admin()
    return json_response(services().addresses.erase(field("email"), field("cursor") or None))


@admin.route("/admin/gifts/redeem", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*GIFT_POST_TYPES, problem_only=True)
def redeem_gift_code() -> Response:
    require_admin()
    redemption = gift_service().redeem_code(field("code"))
    return json_response({"redeemed": True, "code": redemption.code, "campaign": redemption.campaign,
                          "redeemedAt": redemption.redeemed_at.isoformat(), "redeemedBy": redemption.redeemed_by})


@admin.route("/admin/gifts/revoke", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*GIFT_POST_TYPES, problem_only=True)
def revoke_gift() -> Response:
    require_admin()
    gift = gift_service().revoke(field("gift"))
    return json_response({"gift": gift.id, "state": gift.state, "campaign": gift.campaign})


@admin.route("/admin/gifts/{campaign}/codes", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*CODES_TYPES, problem_only=True)
def load_gift_codes(campaign: str) -> Response:
    require_admin()
    body: Any = request().raw_body or b""
    return json_response(gift_service().load_upload(campaign, body))


@admin.route("/admin/gifts/{campaign}/stock", methods=["GET"])
@handles_errors
def gift_stock(campaign: str) -> Response:
    require_admin()
    return json_response(gift_service().stock(campaign))
