"""The shipped survey in each of Formloop's five languages, at a phone's width in headless Chromium: the page,
the page again after a mistake and the thanks page it redirects to, all in the chosen language and drawn with
real glyphs. Screenshots go to build/screenshots/survey-<lang>-<page>-390.png."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
FORM = "customer-survey"
# What each page says in its language: the form's own title, Formloop's button, error summary and thanks heading.
WORDING = {
    "en": ("How did we do?", "Send", "Please fix the following", "Thank you"),
    "ru": ("Как мы справились?", "Отправить", "Пожалуйста, исправьте", "Спасибо"),
    "fr": ("Comment avons-nous fait ?", "Envoyer", "Veuillez corriger ce qui suit", "Merci"),
    "vi": ("Chúng tôi đã làm tốt chứ?", "Gửi", "Vui lòng sửa các mục sau", "Cảm ơn bạn"),
    "hi": ("हमारा काम कैसा रहा?", "भेजें", "कृपया इन्हें ठीक करें", "धन्यवाद"),
}
# Text drawn with a font that lacks its script comes out as boxes as wide as those of a character no font has.
DRAWN = """
const canvas = document.createElement("canvas").getContext("2d");
canvas.font = getComputedStyle(document.body).font;
const text = arguments[0], missing = "\\u0378".repeat(text.length);
return canvas.measureText(text).width !== canvas.measureText(missing).width;
"""


def _shot(browser: Any, name: str) -> None:
    full = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(390, max(844, full + 140))
    browser.save_screenshot(str(SHOTS / f"{name}-390.png"))
    browser.set_window_size(390, 844)


def _main(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


def test_a_devanagari_font_is_installed() -> None:
    fonts = subprocess.run(["fc-list", ":lang=hi"], capture_output=True, text=True, check=False).stdout
    assert fonts.strip(), "no font draws Hindi: run `make browser` (installs fonts-lohit-deva)"


@pytest.mark.parametrize("language", list(WORDING))
def test_the_survey_its_mistakes_and_its_thanks_in_each_language(
        site, browser, services, language) -> None:  # type: ignore[no-untyped-def]
    title, send, summary, thanks = WORDING[language]
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(390, 844)
    browser.get(f"{site}/f/{FORM}?lang={language}")
    assert title in _main(browser) and browser.find_element(By.CSS_SELECTOR, "form button").text == send
    assert browser.execute_script(DRAWN, title), f"{language}: the title is drawn as boxes"
    _shot(browser, f"survey-{language}-page")

    browser.find_element(By.CSS_SELECTOR, "form button").click()  # nothing answered
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "error-summary"))
    assert summary in _main(browser) and (language == "en") == ("is required" in _main(browser))
    _shot(browser, f"survey-{language}-errors")

    choice = browser.find_element(By.CSS_SELECTOR, 'input[name="nps"][value="9"]')
    browser.find_element(By.CSS_SELECTOR, f'label[for="{choice.get_attribute("id")}"]').click()
    browser.find_element(By.NAME, "email").send_keys(f"{language}@example.com")
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(browser, 15).until(lambda b: "/thanks" in b.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text == thanks
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
    _shot(browser, f"survey-{language}-thanks")
    [stored] = list(services.store.list(FORM))
    assert stored.language == language
