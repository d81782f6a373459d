"""The gift pages a respondent sees."""
from __future__ import annotations

from chalicelib.core.errors import N_
from chalicelib.gifts.service import GiftPage, when


def render_page(page: GiftPage) -> str:
    """The HTML of a gift page; its wording (gift.html) from the catalogue of the page's language."""
    from chalicelib.i18n.catalogue import translate
    from chalicelib.pages import rendering
    language = page.language.split("-")[0]
    campaign, gift = page.campaign, page.gift
    title = campaign.text("title", language) if campaign else translate(language, N_("Your gift"))
    return rendering.render(
        "gift.html", language=language, page_title=title, title=title, gift_id=gift.id, token=page.token,
        description=campaign.text("description", language) if campaign else "",
        value=campaign.text("value", language) if campaign else "",
        how_to_use=campaign.text("howToUse", language) if campaign else "",
        code=page.code, claimed=gift.state in ("claimed", "redeemed"),
        expires_at=when(gift.expires_at) if gift.expires_at else None,
        redeemed_at=when(gift.redeemed_at) if gift.redeemed_at else None, just_redeemed=page.just_redeemed,
        can_redeem_own=bool(campaign and campaign.digital and gift.state == "claimed"))
