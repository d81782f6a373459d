"""The pages a respondent sees, opened in Chromium one after another: each shipped form in every language
Formloop ships, its 422 page, its thank-you page, and a gift link before and after the claim. Used by the
accessibility and the phone-layout tests, so both look at the same pages."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from chalicelib.i18n.catalogue import LANGUAGES as CATALOGUE_LANGUAGES
from tests.integration.gift_support import codes_csv, gift_service, promised

FORMS = ("contact", "customer-survey", "product-feedback")
# Every language Formloop ships: each shipped form speaks all of them (tests/unit/test_i18n.py), and Hindi's and
# Vietnamese's longer words are the ones that could push a phone's page sideways.
LANGUAGES = CATALOGUE_LANGUAGES

# Each visit opens one page in the browser; the name is what reports and screenshots call it.
Visit = tuple[str, Callable[[Any], None]]


@pytest.fixture
def gift_link(services: Any, tmp_path: Path) -> Iterator[str]:
    """The path of a fresh gift link (/g/<id>?t=<token>) of a campaign with codes in stock."""
    gifts = gift_service(services, tmp_path)
    gifts.load_codes("test-gift", codes_csv(3))
    saved, services.gifts = services.gifts, gifts
    gift_id, token = promised(gifts, "ann@example.com")
    yield f"/g/{gift_id}?t={token}"
    services.gifts = saved


def _open(site: str, path: str) -> Callable[[Any], None]:
    return lambda browser: browser.get(site + path)


def _post_empty(site: str, form_id: str, language: str) -> Callable[[Any], None]:
    def visit(browser: Any) -> None:
        browser.get(f"{site}/f/{form_id}?lang={language}")
        # contact.json's time trap takes a post sooner than 3 s after the page for spam (a quiet 303); without
        # the page's time, as from a plain static form, the answers themselves are checked at once.
        browser.execute_script("document.querySelector('input[name=\"_ts\"]')?.remove();")
        browser.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
        WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "error-summary"))
    return visit


def _claim(site: str, link: str) -> Callable[[Any], None]:
    def visit(browser: Any) -> None:
        browser.get(site + link)
        browser.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
        WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "gift-code"))
    return visit


def visits(site: str, gift_link: str) -> Iterator[Visit]:
    """Every page to look at, in an order that works (the claim follows the unclaimed page)."""
    for form_id in FORMS:
        for language in LANGUAGES:
            yield f"{form_id}-{language}", _open(site, f"/f/{form_id}?lang={language}")
            yield f"{form_id}-{language}-errors", _post_empty(site, form_id, language)
            yield f"{form_id}-{language}-thanks", _open(site, f"/f/{form_id}/thanks?lang={language}")
    yield "gift", _open(site, gift_link)
    yield "gift-claimed", _claim(site, gift_link)
    yield "gift-missing", _open(site, "/g/g_0123456789abcdef0123456789abcdef?t=x")
