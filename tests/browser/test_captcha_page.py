"""A form with a CAPTCHA in a real browser, at a phone's width and a desktop's: the widget's container sits with
the questions, above Send and inside the page; a post without a token comes back with the answers kept and the
error beside the widget. (The provider's script cannot load offline: its container stays empty, which is fine.)"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from chalicelib.forms.definitions import FormRegistry
from tests.browser.navigation import click_through
from tests.captcha_provider import captcha_forms

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
CAPTCHAS = {"turnstile-form": {"provider": "turnstile", "siteKey": "1x00000000000000000000AA", "action": "contact"},
            "v3-form": {"provider": "recaptcha-v3", "siteKey": "6Lc-site-key-v3"}}
SIZES = {"390": (390, 844), "desktop": (1280, 900)}


@pytest.fixture
def guarded(services: Any, tmp_path: Path) -> Iterator[None]:
    original = services.forms
    services.forms = services.submissions.forms = FormRegistry(captcha_forms(tmp_path, **CAPTCHAS))
    yield
    services.forms = services.submissions.forms = original


def _box(browser: Any, css: str) -> dict[str, float]:
    return dict(browser.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width};", css))


@pytest.mark.parametrize("size", list(SIZES))
def test_the_widget_sits_above_send_inside_the_page(guarded: None, site: str, browser: Any, size: str) -> None:
    browser.set_window_size(*SIZES[size])
    browser.get(f"{site}/f/turnstile-form")
    widget, button, main = _box(browser, "#q-captcha"), _box(browser, 'button[type="submit"]'), _box(browser, "main")
    last_question = _box(browser, "#q-consent")
    assert last_question["bottom"] <= widget["top"] < widget["bottom"] <= button["top"]
    assert main["left"] <= widget["left"] and widget["right"] <= main["right"]
    # The widget is 300 px wide: its container leaves it room at 390 px.
    assert _box(browser, ".cf-turnstile")["width"] >= 300
    assert browser.find_element(By.ID, "q-captcha-help").is_displayed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.find_element(By.ID, "q-captcha").location_once_scrolled_into_view  # noqa: B018 (scrolls it into view)
    browser.save_screenshot(str(SHOTS / f"captcha-turnstile-{size}.png"))


def test_a_post_without_the_check_comes_back_with_the_error_beside_the_widget(guarded: None, site: str,
                                                                             browser: Any, services: Any) -> None:
    browser.set_window_size(*SIZES["390"])
    browser.get(f"{site}/f/turnstile-form")
    browser.find_element(By.NAME, "name").send_keys("Ann")
    browser.find_element(By.NAME, "email").send_keys("ann@example.com")
    browser.find_element(By.NAME, "message").send_keys("Please keep this")
    Select(browser.find_element(By.NAME, "topic")).select_by_value("idea")
    browser.find_element(By.NAME, "consent").click()
    click_through(browser, browser.find_element(By.CSS_SELECTOR, 'form button[type="submit"]'))
    error = browser.find_element(By.ID, "q-captcha-error")
    assert error.is_displayed() and "complete the human check" in error.text
    assert browser.find_element(By.NAME, "message").get_attribute("value") == "Please keep this"
    assert _box(browser, "#q-captcha-error")["bottom"] <= _box(browser, 'button[type="submit"]')["top"]
    assert list(services.store.list("turnstile-form")) == []
    error.location_once_scrolled_into_view  # noqa: B018 (scrolls it into view)
    browser.save_screenshot(str(SHOTS / "captcha-turnstile-error-390.png"))


@pytest.mark.parametrize("size", list(SIZES))
def test_recaptcha_v3_has_no_box_only_a_note(guarded: None, site: str, browser: Any, size: str) -> None:
    browser.set_window_size(*SIZES[size])
    browser.get(f"{site}/f/v3-form")
    token = browser.find_element(By.CSS_SELECTOR, 'input[name="g-recaptcha-response"]')
    assert token.get_attribute("type") == "hidden"
    note = browser.find_element(By.CSS_SELECTOR, "#q-captcha .help")
    assert note.is_displayed() and "Google reCAPTCHA" in note.text
    browser.save_screenshot(str(SHOTS / f"captcha-recaptcha-v3-{size}.png"))
