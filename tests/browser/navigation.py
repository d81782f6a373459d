"""Clicking what navigates: a click on a submit button or a link returns as soon as the browser has the
click, sometimes before the next page is loaded, so a test that reads the page at once may read the old
one. `click_through` clicks and waits until the old page is gone and the new one has loaded."""
from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def click_through(browser: Any, element: Any, timeout: float = 15) -> None:
    old_page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    wait = WebDriverWait(browser, timeout)
    wait.until(expected_conditions.staleness_of(old_page))
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")


def signed_out(browser: Any, site: str) -> None:
    """Forget every dashboard session the browser holds for `site`'s host. Cookies ignore the port, and Selenium
    deletes only those the current page can see: so from a page of the dashboard itself (the cookie's path)."""
    browser.get(f"{site}/admin")
    browser.delete_all_cookies()
