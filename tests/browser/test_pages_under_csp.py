"""Every page, in headless Chromium at a phone's width and a desktop's, renders styled and works under its own
Content-Security-Policy without a single violation. Screenshots land in build/screenshots/."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.admin_support import AUTH

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
# Runs before any page script (CDP-injected scripts are exempt from the page's policy) and records violations.
LISTEN = """window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || ''));
});"""


@pytest.fixture
def watched(browser: Any, admin: None) -> Iterator[Any]:
    """The browser with the violation listener on every new page and the admin key on every request."""
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LISTEN})
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": AUTH})
    browser.get_log("browser")  # start from an empty console
    yield browser
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})
    browser.set_window_size(1200, 2400)


def _violations(browser: Any) -> list[str]:
    found = list(browser.execute_script("return window.__violations || [];"))
    console = [entry["message"] for entry in browser.get_log("browser")
               if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]
    return found + console


def _check(browser: Any, name: str, *, fits_a_phone: bool = True) -> None:
    """The page is styled by its own sheet, nothing was refused, and a screenshot is kept at each width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        browser.set_window_size(width, height)
        background = browser.execute_script("return getComputedStyle(document.body).backgroundColor;")
        assert background == "rgb(246, 247, 249)", (name, background)  # the inline sheet applied
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 0 or not fits_a_phone, (name, label, overflow)
        browser.save_screenshot(str(SHOTS / f"csp-{name}-{label}.png"))
    assert _violations(browser) == [], name


def test_the_form_pages_render_and_work_under_their_policy(site, watched, services) -> None:  # type: ignore[no-untyped-def]
    for form_id in ("contact", "customer-survey"):
        watched.get(f"{site}/f/{form_id}")
        _check(watched, form_id)
    watched.get(f"{site}/f/product-feedback")
    # The visibility script runs (allowed by its hash): the conditional question follows the score.
    assert not watched.find_element(By.ID, "q-improve").is_displayed()
    choice = watched.find_element(By.CSS_SELECTOR, 'input[name="nps"][value="3"]')
    watched.find_element(By.CSS_SELECTOR, f'label[for="{choice.get_attribute("id")}"]').click()
    assert watched.find_element(By.ID, "q-improve").is_displayed()
    _check(watched, "product-feedback")
    # A post with mistakes: the page comes back and its inline script moves focus to the error summary.
    watched.get(f"{site}/f/customer-survey")
    watched.find_element(By.NAME, "email").send_keys("not-an-address")
    watched.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    WebDriverWait(watched, 15).until(lambda b: b.find_elements(By.ID, "error-summary"))
    assert watched.execute_script("return document.activeElement.id;") == "error-summary"
    _check(watched, "survey-errors")
    watched.get(f"{site}/f/contact/thanks")
    _check(watched, "thanks")


def test_admin_gift_and_error_pages_render_under_their_policy(site, watched, services) -> None:  # type: ignore[no-untyped-def]
    watched.get(f"{site}/admin/forms/customer-survey/results?format=html")
    assert watched.find_element(By.TAG_NAME, "h1").text
    _check(watched, "results")  # its charts fit a phone too (tests/browser/test_results_in_chromium.py)
    watched.get(f"{site}/g/no-such-gift?t=x")
    assert "gift" in watched.find_element(By.TAG_NAME, "main").text.lower()
    _check(watched, "gift-missing")
    watched.get(f"{site}/f/no-such-form")
    _check(watched, "form-missing")
