"""axe-core (node_modules, pinned in package-lock.json) finds no serious or critical accessibility violation on the
pages respondents see: each shipped form in every language, its 422 page, its thank-you page, the gift pages. Those
pages are checked in the one visit that also measures them on a phone (tests/browser/test_phone_layout.py); here,
that axe is installed and that the check does see a violation.

The pages forbid scripts they do not name (Content-Security-Policy), so axe is injected through WebDriver, which
the page's policy does not govern, rather than with a <script> element."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
RUN = """const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(r => done(r.violations), e => done([{id: "axe-error",
  impact: "critical", help: String(e), nodes: []}]));"""


def violations(browser: Any) -> list[dict[str, Any]]:
    """What axe reports on the page the browser shows."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    browser.set_script_timeout(60)
    return list(browser.execute_async_script(RUN))


def test_axe_is_installed_from_the_lockfile() -> None:
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: `make setup` runs `npm ci`")


def test_the_check_sees_a_violation_when_there_is_one(site, browser) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{site}/f/contact")
    browser.execute_script("document.querySelector('label[for=\"f-name\"]').remove();")  # an input with no name
    blocking = {v["id"] for v in violations(browser) if v.get("impact") in BLOCKING}
    assert "label" in blocking
