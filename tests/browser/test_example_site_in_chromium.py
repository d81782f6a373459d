"""The local path in a real browser, at a phone's width and a desktop's: the example site's contact page posts to
Formloop and lands on the site's own thank-you page; `/` lists the forms, the dashboard and the outbox; the outbox
lists the emails and one email shows To and Subject and links back. Screenshots go to
build/screenshots/local-*.png."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from chalicelib.forms.definitions import FormRegistry
from chalicelib.jobs import dispatch
from chalicelib.mail.transport import OutboxMailer
from formloop_cli.example_site import SITE_DIR, ExampleSiteHandler, site_origins
from tests.browser.navigation import click_through

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
SIZES = {"390": (390, 844), "1280": (1280, 900)}


def _shot(browser: Any, name: str, size: str) -> None:
    """A screenshot of the whole page at the size's width (the window grown to the page's height, then back)."""
    width, height = SIZES[size]
    full = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(width, max(height, full + 140))
    browser.save_screenshot(str(SHOTS / f"local-{name}-{size}.png"))
    browser.set_window_size(width, height)


def _fits(browser: Any) -> bool:
    return bool(browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture
def example_site(site: str, services: Any, tmp_path: Path) -> Iterator[str]:
    """The example site on a free port, naming the app at `site`; the shipped forms list that port instead of
    8002, and emails go to an outbox of the test's own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(ExampleSiteHandler, directory=str(SITE_DIR),
                                                           app_url=site))
    port = int(server.server_address[1])
    forms = tmp_path / "forms"
    forms.mkdir()
    for path in (ROOT / "forms").glob("*.json"):
        definition = json.loads(path.read_text(encoding="utf-8"))
        definition["x-form"]["allowedOrigins"] = site_origins(port)
        (forms / path.name).write_text(json.dumps(definition), encoding="utf-8")
    original_forms, original_mailer = services.forms, services.delivery.mailer
    services.forms = services.submissions.forms = FormRegistry(forms)
    services.delivery.mailer = OutboxMailer(tmp_path / "outbox")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        services.forms = services.submissions.forms = original_forms
        services.delivery.mailer = original_mailer


@pytest.mark.parametrize("size", list(SIZES))
def test_the_example_site_posts_lands_on_its_thanks_page_and_the_email_is_in_the_outbox(
        browser, site, example_site, services, size) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(*SIZES[size])
    browser.get(f"{example_site}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Contact us"
    assert browser.find_element(By.TAG_NAME, "form").get_attribute("action") == f"{site}/f/contact"
    assert _fits(browser)
    _shot(browser, "site-contact", size)
    browser.find_element(By.NAME, "name").send_keys("Ann Lee")
    browser.find_element(By.NAME, "email").send_keys("ann@example.com")
    browser.find_element(By.CSS_SELECTOR, 'select[name="topic"] option[value="praise"]').click()
    browser.find_element(By.NAME, "message").send_keys("The rye loaf was perfect.\nSee you on Saturday!")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{example_site}/thanks.html")
    assert "Thank you" in browser.find_element(By.TAG_NAME, "h1").text and _fits(browser)
    _shot(browser, "site-thanks", size)

    [stored] = list(services.store.list("contact"))
    # Browsers send a textarea's line breaks as CRLF (the HTML standard's form encoding).
    assert stored.answers["message"] == "The rye loaf was perfect.\r\nSee you on Saturday!"
    assert stored.answers["consent"] is True and stored.answers["topic"] == "praise"
    dispatch(services.consumers, stored)  # what the worker does with the stream record

    browser.get(f"{example_site}/survey.html")
    assert browser.find_element(By.LINK_TEXT, "Start the survey").get_attribute("href") == \
        f"{site}/f/customer-survey"
    assert _fits(browser)
    _shot(browser, "site-survey", size)

    browser.get(f"{site}/")
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "main a")}
    assert links["Contact us"] == f"{site}/f/contact" and links["The dashboard"] == f"{site}/admin"
    assert links["The outbox"] == f"{site}/outbox" and _fits(browser)
    _shot(browser, "home", size)

    click_through(browser, browser.find_element(By.LINK_TEXT, "The outbox"))
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert len(rows) == 2 and any("ann@example.com" in row for row in rows) and _fits(browser)
    _shot(browser, "outbox", size)
    [acknowledgement] = [row for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr")
                         if "ann@example.com" in row.text]
    subject = acknowledgement.find_element(By.TAG_NAME, "a").text
    click_through(browser, acknowledgement.find_element(By.TAG_NAME, "a"))
    header = browser.find_element(By.TAG_NAME, "dl").text
    assert "ann@example.com" in header and subject in header
    _shot(browser, "outbox-email", size)
    click_through(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "All emails"))
    assert browser.current_url == f"{site}/outbox"
