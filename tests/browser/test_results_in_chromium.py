"""A form's results in the dashboard, in a real browser at a phone's width and a desktop's: sign in, open the
survey's results from the inbox, and see every chart whole (no SVG text outside its SVG, no sideways scrolling),
NPS by week, answers by source and the gift stock; the CSV link downloads with the browser's session.
Screenshots: build/screenshots/dashboard-results-390.png and dashboard-results-1280.png."""
from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from chalicelib.core.keys import AdminAuth, hash_key
from chalicelib.intake.service import SubmitRequest
from tests.browser.navigation import click_through, signed_out

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
SIZES = {"390": (390, 844), "1280": (1280, 900)}
KEY = "browser-admin-key-0123456789abcdef"
FORM = "customer-survey"
# Every SVG text's box against its SVG's box, in CSS pixels (half a pixel of anti-aliasing allowed).
CUT_TEXTS = """
const cut = [];
for (const svg of document.querySelectorAll('svg')) {
  const outer = svg.getBoundingClientRect();
  for (const text of svg.querySelectorAll('text')) {
    const box = text.getBoundingClientRect();
    if (box.left < outer.left - 0.5 || box.right > outer.right + 0.5 || box.top < outer.top - 0.5
        || box.bottom > outer.bottom + 0.5) {
      cut.push(text.textContent + ' ' + JSON.stringify([box.left, box.right, outer.left, outer.right]));
    }
  }
}
return cut;
"""


def _answer(services: Any, n: int, nps: int, source: str, days_ago: int) -> None:
    body = {"nps": nps, "reason": f"Answer {n}: " + ("faster delivery please" if nps < 7 else "all good"),
            "email": f"r{n}@example.com", "features": ["delivery", "prices"][: 1 + n % 2], "csat": 1 + n % 5,
            "_utm_source": source}
    outcome = services.submissions.submit(SubmitRequest(
        form_id=FORM, body=json.dumps(body).encode(), headers={"content-type": "application/json"}))
    submission = services.store.get(FORM, outcome.submission_id)
    services.results.consume(replace(submission, created_at=submission.created_at - timedelta(days=days_ago)))


@pytest.fixture
def owner(services: Any) -> Iterator[None]:
    """Ann's key, and a survey answered over five weeks from three sources, with gift codes in stock."""
    original = services.admin
    services.admin = AdminAuth([f"ann:{hash_key(KEY)}"])
    campaign = services.forms.get(FORM).settings["gift"]["campaign"]
    services.gifts.generate(campaign, 40)
    answers = [(10, "newsletter", 0), (9, "newsletter", 1), (3, "instagram", 2), (7, "newsletter", 8),
               (10, "partner-blog-december", 9), (6, "instagram", 15), (9, "newsletter", 22), (0, "instagram", 30),
               (8, "newsletter", 31), (10, "newsletter", 33)]
    for n, (nps, source, days_ago) in enumerate(answers):
        _answer(services, n, nps, source, days_ago)
    try:
        yield
    finally:
        services.admin = original


def _shot(browser: Any, size: str) -> None:
    width, height = SIZES[size]
    full = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(width, max(height, full + 140))
    browser.save_screenshot(str(SHOTS / f"dashboard-results-{size}.png"))
    browser.set_window_size(width, height)


@pytest.mark.parametrize("size", list(SIZES))
def test_open_a_survey_s_results_from_the_inbox_and_see_every_chart_whole(owner: None, site: str, browser: Any,
                                                                         size: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    signed_out(browser, site)
    browser.set_window_size(*SIZES[size])
    browser.get(f"{site}/admin/results/{FORM}")  # not signed in: to the sign-in page, not a 401
    assert browser.current_url == f"{site}/admin?next=%2Fadmin%2Fresults%2F{FORM}"
    browser.find_element(By.ID, "key").send_keys(KEY)
    click_through(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/admin/sign-in'] button"))
    assert browser.current_url.endswith(f"/admin/results/{FORM}")  # signed in, back where the owner was going
    browser.get(f"{site}/admin/inbox")  # and the inbox links each form's results
    click_through(browser, browser.find_element(By.CSS_SELECTOR, f"#results-links a[href='/admin/results/{FORM}']"))
    assert browser.current_url.endswith(f"/admin/results/{FORM}")
    # The charts' style block passed the Content-Security-Policy: the sections sit in a grid.
    assert browser.find_element(By.CSS_SELECTOR, ".results").value_of_css_property("display") == "grid"
    page = browser.page_source
    assert "NPS by week" in page and "By source" in page and "Gift stock: spring-coupon" in page
    assert "1 promoter" not in page.replace("1 promoters", "") or "1 promoter ·" in page
    weeks = browser.find_elements(By.CSS_SELECTOR, "table.data tbody tr")
    assert len(weeks) == 8 and sum(int(row.find_elements(By.TAG_NAME, "td")[0].text) for row in weeks) == 5
    sources = browser.find_element(By.CSS_SELECTOR, "#r-sources svg title").get_attribute("textContent")
    assert sources == "newsletter: 6; instagram: 3; partner-blog-december: 1"
    stock = {dt.text: dd.text for dt, dd in zip(browser.find_elements(By.CSS_SELECTOR, "dl.stock dt"),
                                                browser.find_elements(By.CSS_SELECTOR, "dl.stock dd"), strict=True)}
    assert stock["Codes left"] == "40"
    assert browser.execute_script(CUT_TEXTS) == []
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    # The weeks' table fits too, even on a phone, with no scrolling of its own.
    table = browser.execute_script("const box = document.querySelector('.scroll'); "
                                   "return [box.scrollWidth, box.clientWidth]")
    assert table[0] <= table[1], table
    _shot(browser, size)

    # The CSV link downloads with the browser's own session (read here over HTTP with its cookie).
    href = browser.find_element(By.ID, "csv").get_attribute("href")
    cookie = browser.get_cookie("formloop_session")
    assert cookie is not None
    request = urllib.request.Request(href, headers={"Cookie": f"formloop_session={cookie['value']}"})
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (the test's own local server)
        assert response.headers["Content-Type"].startswith("text/csv")
        lines = response.read().decode().splitlines()
    assert lines[0].startswith("id,created_at,status") and len(lines) == 11
