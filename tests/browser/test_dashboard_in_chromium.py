"""The dashboard in a real browser, at a phone's width and a desktop's: sign in with a labelled key, open an
overdue question from the inbox, reply, find the reply in the outbox, and see the case answered. Screenshots of
each page go to build/screenshots/dashboard-*.png."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By

from chalicelib.core.keys import AdminAuth, hash_key
from chalicelib.intake.service import SubmitRequest
from chalicelib.jobs import dispatch
from chalicelib.mail.transport import OutboxMailer
from tests.browser.navigation import click_through, signed_out

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
SIZES = {"390": (390, 844), "1280": (1280, 900)}
KEY = "browser-admin-key-0123456789abcdef"


def _submit(services: Any, kind: str, email: str, message: str, hours_ago: float, *, spam: bool = False) -> str:
    fields = {"name": email.split("@")[0].title(), "email": email, "topic": kind, "message": message,
              "consent": "on"}
    outcome = services.submissions.submit(SubmitRequest(
        form_id="contact", body=urlencode(fields).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "referer": "https://acme.example/pricing"}))
    submission = services.store.get("contact", outcome.submission_id)
    # As if received `hours_ago`: the case's due time counts from then.
    submission = replace(submission, created_at=submission.created_at - timedelta(hours=hours_ago),
                         status="spam" if spam else submission.status)
    dispatch(services.consumers, submission)
    return str(submission.id)


def _shot(browser: Any, name: str, size: str) -> None:
    """A screenshot of the whole page at the size's width (the window grown to the page's height, then back)."""
    width, height = SIZES[size]
    full = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(width, max(height, full + 140))
    browser.save_screenshot(str(SHOTS / f"dashboard-{name}-{size}.png"))
    browser.set_window_size(width, height)


@pytest.fixture
def owner(services: Any, tmp_path: Path) -> Iterator[str]:
    """Ann's labelled key, an outbox, and a small inbox: an overdue question first among other kinds."""
    original_admin, original_mailer = services.admin, services.delivery.mailer
    services.admin = AdminAuth([f"ann:{hash_key(KEY)}"])
    services.delivery.mailer = OutboxMailer(tmp_path / "outbox")
    _submit(services, "praise", "pat@example.com", "Lovely service, thank you!", 2)
    _submit(services, "idea", "ivy@example.com", "Could you add a dark mode?", 20)
    _submit(services, "complaint", "cole@example.com", "My order arrived broken.", 3)
    _submit(services, "referral", "rey@example.com", "My friend Bo wants a quote.", 5)
    _submit(services, "question", "win@prize.example", "You won! Claim at http://prize.example", 1, spam=True)
    question = _submit(services, "question", "ann@example.com", "Where is my order #1042?", 30)
    try:
        yield question
    finally:
        services.admin, services.delivery.mailer = original_admin, original_mailer


@pytest.mark.parametrize("size", list(SIZES))
def test_sign_in_answer_an_overdue_question_and_see_it_answered(owner: str, site: str, browser: Any,
                                                                size: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    signed_out(browser, site)
    browser.set_window_size(*SIZES[size])
    browser.get(f"{site}/admin")
    _shot(browser, "sign-in", size)
    # The page's own style block passed the Content-Security-Policy: the header is dark, not unstyled.
    header = browser.find_element(By.TAG_NAME, "header")
    assert header.value_of_css_property("background-color") == "rgba(29, 36, 48, 1)"
    browser.find_element(By.ID, "key").send_keys(KEY)
    click_through(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/admin/sign-in'] button"))
    assert browser.current_url.endswith("/admin/inbox")
    assert "Signed in as ann" in browser.page_source
    _shot(browser, "inbox", size)
    first = browser.find_element(By.CSS_SELECTOR, "table.cases tbody tr")
    assert "overdue" in first.get_attribute("class") and "ann@example.com" in first.text
    click_through(browser, first.find_element(By.PARTIAL_LINK_TEXT, "ann@example.com"))
    assert f"/admin/cases/contact/{owner}" in browser.current_url
    assert "Where is my order #1042?" in browser.page_source
    _shot(browser, "case", size)
    browser.find_element(By.ID, "reply-text").send_keys("It left our warehouse today; you will have it Monday.")
    click_through(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/reply'] button"))
    assert "Reply sent" in browser.page_source
    badges = [badge.text for badge in browser.find_elements(By.CSS_SELECTOR, "dd .badge")]
    assert badges[0] == "answered"
    assert "new → answered" in browser.page_source and "ann" in browser.page_source
    _shot(browser, "case-answered", size)
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.get(f"{site}/outbox")
    assert "Re: We received your message" in browser.page_source
    browser.get(f"{site}/admin/inbox?status=answered")
    assert "ann@example.com" in browser.page_source
    browser.get(f"{site}/admin/inbox?overdue=1")
    _shot(browser, "inbox-overdue-empty", size)
    assert "Nothing here with these filters" in browser.page_source
    browser.get(f"{site}/admin/inbox?folder=spam")
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "table.cases tbody tr")]
    assert len(rows) == 1 and "win@prize.example" in rows[0]
    _shot(browser, "spam", size)
