"""Where a sign-in goes next: only a path under /admin/ on this site, whatever a crafted link sends instead."""
from __future__ import annotations

import pytest

from chalicelib.cases.destination import INBOX, after_sign_in, dashboard_destination

# Each would take a freshly signed-in owner off the dashboard, or is no plain path of it.
HOSTILE = [
    "https://evil.example/admin/inbox", "//evil.example/admin/", "///evil.example/admin/", "/\\evil.example",
    "\\\\evil.example", "/admin/\\..\\..\\evil.example", "/%2F%2Fevil.example", "/admin/%2F%2Fevil.example",
    "/admin/%2f/evil.example", "/admin/../..", "/admin/..", "/admin/./inbox", "/admin/%2e%2e/%2e%2e/evil",
    "/admin/%2E%2E", "/admin/%5c%5cevil.example", "/admin//evil.example", "/admin/\r\nSet-Cookie: a=b",
    "/admin/%0d%0aSet-Cookie:%20a=b", "/admin/\tinbox", "/admin/ inbox", "/admin/%00", "/admin/%", "/admin/%zz",
    "/admin/inbox#top", "javascript:alert(1)", "javascript:/admin/", "data:text/html,/admin/",
    "http:/admin/inbox", "/admin", "/admin@evil.example", "/administrator/", "/f/contact", "/", "", None,
    "admin/inbox", "/admin/\u0435vil", "/admin/" + "a" * 1000,
]


@pytest.mark.parametrize("wanted", HOSTILE)
def test_anything_but_a_dashboard_path_falls_back_to_the_inbox(wanted: str | None) -> None:
    assert dashboard_destination(wanted) is None
    assert after_sign_in(wanted) == INBOX


@pytest.mark.parametrize("wanted", [
    "/admin/results/contact", "/admin/results/customer-survey/csv?status=all",
    "/admin/cases/contact/01JABCDEF0123456789ABCDEFG", "/admin/inbox?folder=spam&kind=question",
    "/admin/inbox?address=ann%40example.com&source=https%3A%2F%2Fshop.example%2F", "/admin/results/caf%C3%A9",
])
def test_a_page_of_the_dashboard_is_where_the_sign_in_goes(wanted: str) -> None:
    assert dashboard_destination(wanted) == wanted
    assert after_sign_in(wanted) == wanted
