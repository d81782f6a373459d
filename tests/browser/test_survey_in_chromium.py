"""A respondent in a real browser: the survey page shows and hides its conditional question as the server
reads it, a good post lands on the thanks page and is stored typed, and a post with mistakes comes back with
the answers kept and each error beside its question."""
from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

FORM = "product-feedback"  # "improve" is asked (and required) only for an NPS of 6 or less


def _pick(browser: Any, name: str, value: str) -> None:
    """Choose a radio or checkbox answer by clicking its label, as a person would."""
    choice = browser.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]')
    browser.find_element(By.CSS_SELECTOR, f'label[for="{choice.get_attribute("id")}"]').click()


def _consent(browser: Any) -> None:
    box = browser.find_element(By.NAME, "consent")
    browser.find_element(By.CSS_SELECTOR, f'label[for="{box.get_attribute("id")}"]').click()


def _type(browser: Any, name: str, text: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def _improve_shown(browser: Any) -> bool:
    return bool(browser.find_element(By.ID, "q-improve").is_displayed())


def _fill_the_rest(browser: Any, email: str) -> None:
    _type(browser, "email", email)
    _pick(browser, "product", "app")
    _pick(browser, "satisfaction", "4")
    for row, value in (("easy", "5"), ("fast", "2"), ("value", "4")):
        _pick(browser, f"agreement.{row}", value)


def _submit(browser: Any) -> None:
    browser.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()


def test_the_conditional_question_follows_the_score_and_only_shown_answers_are_kept(
        site, browser, services) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{site}/f/{FORM}")
    assert not _improve_shown(browser)
    _pick(browser, "nps", "3")
    assert _improve_shown(browser)
    _type(browser, "improve", "Faster delivery, please")
    _pick(browser, "nps", "9")
    assert not _improve_shown(browser)  # hidden again: its answer must not count
    _fill_the_rest(browser, "ann@example.com")
    _consent(browser)
    _submit(browser)
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith(f"/f/{FORM}/thanks"))
    assert "Thank you" in browser.find_element(By.TAG_NAME, "main").text

    [stored] = list(services.store.list(FORM))
    assert stored.answers["nps"] == 9 and "improve" not in stored.answers
    assert stored.answers["agreement"] == {"easy": 5, "fast": 2, "value": 4}
    assert stored.answers["consent"] is True and stored.respondent_email == "ann@example.com"


def test_mistakes_come_back_beside_their_questions_with_the_answers_kept(
        site, browser, services) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{site}/f/{FORM}")
    _pick(browser, "nps", "2")
    _fill_the_rest(browser, "not an address")
    _submit(browser)  # no reason given for a low score, no consent, a broken address
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.CSS_SELECTOR, "p.error"))

    errors = {e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "p.error")}
    assert {"q-email-error", "q-improve-error", "q-consent-error"} <= errors
    assert _improve_shown(browser)  # still asked: the score that needs it was kept
    assert browser.find_element(By.NAME, "email").get_attribute("value") == "not an address"
    assert browser.find_element(By.CSS_SELECTOR, 'input[name="nps"][value="2"]').is_selected()
    assert list(services.store.list(FORM)) == []

    _type(browser, "email", "ann@example.com")
    _type(browser, "improve", "Clearer prices")
    _consent(browser)
    _submit(browser)
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith(f"/f/{FORM}/thanks"))
    [stored] = list(services.store.list(FORM))
    assert stored.answers["nps"] == 2 and stored.answers["improve"] == "Clearer prices"
