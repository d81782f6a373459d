"""The respondents' pages on a phone (390 px) and a desktop (1280 px): every choice is a tap target of at least
44 x 44 px, the 0-10 scale keeps one row or two clean rows, a matrix shows one statement per row, and nothing
scrolls sideways on the phone. Screenshots of each page at both widths land in build/screenshots/.

The same visit of each page also runs axe-core on it at 1280 x 900 (tests/browser/test_axe.py): one page load
per page for both checks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.shipped_pages import gift_link, visits  # noqa: F401  (gift_link is a fixture)
from tests.browser.test_axe import BLOCKING, violations

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
TAP = 44  # px: WCAG 2.5.5's target size, and Apple's and Google's guidance
# The area a finger can hit for each choice: the input itself or its label (clicking either picks it), and every
# button; whichever is larger counts.
TARGETS = """const rect = e => e.getBoundingClientRect();
const out = [];
for (const input of document.querySelectorAll('form input[type=radio], form input[type=checkbox], button')) {
  if (input.closest('.hp') || !input.offsetParent && input.type !== 'radio' && input.type !== 'checkbox') continue;
  const label = input.labels && input.labels[0];
  const boxes = [rect(input)].concat(label ? [rect(label)] : []);
  const width = Math.max(...boxes.map(b => b.width)), height = Math.max(...boxes.map(b => b.height));
  out.push([input.id || input.name || input.textContent.trim(), Math.round(width), Math.round(height)]);
}
return out;"""
# The top of each choice of a scale, grouped into rows; one per scale (or per matrix statement).
SCALE_ROWS = """return [...document.querySelectorAll('.scale:not(.scale-words)')].map(scale =>
  [...new Set([...scale.querySelectorAll('label')].map(l => Math.round(l.getBoundingClientRect().top)))].length);"""
MATRIX_SIDE_BY_SIDE = """return [...document.querySelectorAll('fieldset.row')].some((row, i, rows) =>
  i > 0 && Math.round(row.getBoundingClientRect().top) === Math.round(rows[i - 1].getBoundingClientRect().top));"""


def _small_targets(browser: Any) -> list[tuple[str, int, int]]:
    return [(name, w, h) for name, w, h in browser.execute_script(TARGETS) if w < TAP or h < TAP]


def _blocking_violations(browser: Any) -> list[str]:
    found = []
    for violation in violations(browser):
        if violation.get("impact") in BLOCKING:
            targets = [" ".join(map(str, node.get("target", []))) for node in violation["nodes"]]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets[:3]}")
    return found


def test_choices_are_large_tap_targets_nothing_overflows_on_a_phone_and_axe_finds_nothing_serious(  # type: ignore[no-untyped-def]
        site, browser, gift_link) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    small: dict[str, list[tuple[str, int, int]]] = {}
    overflow: dict[str, int] = {}
    rows: dict[str, list[int]] = {}
    inaccessible: dict[str, list[str]] = {}
    try:
        for name, visit in visits(site, gift_link):
            browser.set_window_size(*WIDTHS["phone"])
            visit(browser)
            for label, (width, height) in WIDTHS.items():
                browser.set_window_size(width, height)
                if label == "desktop" and (blocking := _blocking_violations(browser)):  # at 1280 x 900
                    inaccessible[name] = blocking
                if label == "phone":
                    if found := _small_targets(browser):
                        small[name] = found
                    sideways = browser.execute_script(
                        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
                    if sideways > 0:
                        overflow[name] = sideways
                    # The 0-10 scale: one row or two, never 8 + 3; a matrix: one statement per row.
                    if any(count > 2 for count in browser.execute_script(SCALE_ROWS)) or \
                            browser.execute_script(MATRIX_SIDE_BY_SIDE):
                        rows[name] = browser.execute_script(SCALE_ROWS)
                _full_page_screenshot(browser, SHOTS / f"{name}-{width}.png")
    finally:
        browser.set_window_size(1200, 2400)
    assert small == {}
    assert overflow == {}
    assert rows == {}
    assert inaccessible == {}  # no serious or critical axe violation


def _full_page_screenshot(browser: Any, path: Path) -> None:
    """The whole page at the window's width (the window grows to the page's height for the picture)."""
    width = browser.get_window_size()["width"]
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(width, max(height + 140, 600))
    browser.save_screenshot(str(path))
