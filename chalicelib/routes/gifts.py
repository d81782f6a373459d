"""The respondent's gift pages (/g/{gift}): see the gift, claim it, mark it used. Nothing here needs a key:
the link's token is the credential (docs/gifts.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from .edge import field, handles_errors, html, params, request, services

if TYPE_CHECKING:
    from chalicelib.gifts.service import GiftPage, GiftService

gifts = Blueprint(__name__)

# The link carries the token: keep it out of caches, other sites' logs and search engines.
GIFT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
GIFT_POST_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain"]


def gift_service() -> GiftService:
    """The gift service, or NotFoundError where gifts are not set up."""
    from chalicelib.core.errors import NotFoundError
    service = services().gifts
    if service is None:
        raise NotFoundError("Gifts are not set up on this server.")
    return service


def source_ip() -> str | None:
    """The client's address, by which links that open nothing are counted (never the gift's)."""
    return (request().context.get("identity") or {}).get("sourceIp")  # type: ignore[no-any-return]


def _page(page: GiftPage) -> Response:
    from chalicelib.gifts.pages import render_page
    return html(render_page(page), extra=GIFT_HEADERS)


@gifts.route("/g/{gift_id}", methods=["GET"])
@handles_errors
def gift_page(gift_id: str) -> Response:
    return _page(gift_service().view(gift_id, params().get("t", ""), source_ip()))


@gifts.route("/g/{gift_id}", methods=["POST"], content_types=GIFT_POST_TYPES)
@handles_errors
def claim_gift(gift_id: str) -> Response:
    return _page(gift_service().claim(gift_id, field("t"), source_ip()))


@gifts.route("/g/{gift_id}/redeem", methods=["POST"], content_types=GIFT_POST_TYPES)
@handles_errors
def redeem_own_gift(gift_id: str) -> Response:
    return _page(gift_service().redeem_own(gift_id, field("t"), source_ip()))
