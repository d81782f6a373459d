"""The gift pages a respondent sees."""
from __future__ import annotations

from chalicelib.gifts.service import GiftPage, when

TEXTS: dict[str, dict[str, str]] = {
    "en": {"your_code": "Your code", "claim": "Show my code", "claimed_before": "You already revealed this code.",
           "valid_until": "Valid until", "mark_used": "I have used this code", "redeemed": "Used on",
           "just_redeemed": "Marked as used. Enjoy!", "intro": "A thank-you for your answers.",
           "claim_help": "Press the button to reveal your personal code."},
    "ru": {"your_code": "Ваш код", "claim": "Показать мой код", "claimed_before": "Вы уже открыли этот код.",
           "valid_until": "Действует до", "mark_used": "Я использовал(а) этот код", "redeemed": "Использован",
           "just_redeemed": "Отмечено как использованный. Приятных покупок!", "intro": "Спасибо за ваши ответы.",
           "claim_help": "Нажмите кнопку, чтобы открыть ваш личный код."},
}


def render_page(page: GiftPage) -> str:
    """The HTML of a gift page."""
    from chalicelib.pages import rendering
    language = page.language.split("-")[0]
    texts = {**TEXTS["en"], **TEXTS.get(language, {})}
    campaign, gift = page.campaign, page.gift
    title = campaign.text("title", language) if campaign else "Your gift"
    return rendering.render(
        "gift.html", language=language, page_title=title, title=title, t=texts, gift_id=gift.id, token=page.token,
        description=campaign.text("description", language) if campaign else "",
        value=campaign.text("value", language) if campaign else "",
        how_to_use=campaign.text("howToUse", language) if campaign else "",
        code=page.code, claimed=gift.state in ("claimed", "redeemed"),
        expires_at=when(gift.expires_at) if gift.expires_at else None,
        redeemed_at=when(gift.redeemed_at) if gift.redeemed_at else None, just_redeemed=page.just_redeemed,
        can_redeem_own=bool(campaign and campaign.digital and gift.state == "claimed"))
