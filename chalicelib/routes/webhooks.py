"""The admin API for webhooks (/admin/forms/{form}/webhooks…): recent deliveries, retrying one, replaying
a form's events since a time to one target. Every route needs `Authorization: Bearer <key>`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from .edge import field, handles_errors, json_response, params, require_admin, services
from .media import ANY_TYPE, takes

if TYPE_CHECKING:
    from chalicelib.webhooks.service import WebhookService

webhooks = Blueprint(__name__)

WEBHOOK_POST_TYPES = ["application/x-www-form-urlencoded", "application/json"]


def _service() -> WebhookService:
    from chalicelib.core.errors import NotFoundError
    service = services().webhooks
    if service is None:
        raise NotFoundError("Webhooks are not set up in this deployment.")
    return service


@webhooks.route("/admin/forms/{form_id}/webhooks", methods=["GET"])
@handles_errors
def list_webhook_deliveries(form_id: str) -> Response:
    require_admin()
    from chalicelib.webhooks.admin import parse_limit
    deliveries = _service().deliveries(form_id, parse_limit(params().get("limit")))
    return json_response({"form": form_id, "deliveries": [d.as_json() for d in deliveries]})


@webhooks.route("/admin/forms/{form_id}/webhooks/{target}/events/{event_id}/retry", methods=["POST"],
                content_types=ANY_TYPE)
@handles_errors
@takes(*WEBHOOK_POST_TYPES, problem_only=True)
def retry_webhook_delivery(form_id: str, target: str, event_id: str) -> Response:
    require_admin()
    from chalicelib.webhooks.admin import check_names
    check_names(target, event_id)
    return json_response(_service().retry(form_id, event_id, target).as_json())


@webhooks.route("/admin/forms/{form_id}/webhooks/{target}/replay", methods=["POST"],
                content_types=ANY_TYPE)
@handles_errors
@takes(*WEBHOOK_POST_TYPES, problem_only=True)
def replay_webhook_events(form_id: str, target: str) -> Response:
    require_admin()
    from chalicelib.webhooks.admin import check_names, parse_since
    check_names(target)
    return json_response(_service().replay(form_id, target, parse_since(field("since"))), status=202)
