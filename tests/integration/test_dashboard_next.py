"""Back to the page the owner asked for (chalice.test.Client on DynamoDB Local): a browser without a session is sent
to sign in with that page as `next`, kept in the sign-in form, and lands on it after signing in; a `next` that is
not a page of the dashboard lands on the inbox; the CSRF check and the throttle hold whatever `next` says."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from chalicelib.cases.session import WRONG_KEYS_PER_HOUR
from tests.integration.admin_support import KEY
from tests.integration.test_dashboard import FORM, _cookie, _csrf, _h, session_cookie
from tests.unit.test_dashboard_destination import HOSTILE


def _hidden_next(body: bytes) -> str | None:
    found = re.search(rb'name="next" value="([^"]*)"', body)
    return found[1].decode().replace("&amp;", "&") if found else None


def _sign_in_from(client: Any, sign_in_page: str, key: str = KEY, **extra: str) -> Any:
    """Open `sign_in_page` and post its form (its hidden fields, `key`, and `extra` over them)."""
    page = client.http.get(sign_in_page)
    assert page.status_code == 200, page.body[:300]
    nonce = _cookie(page, "formloop_sign_in").split(";")[0]
    fields = {"csrf": _csrf(page.body), "key": key}
    if (kept := _hidden_next(page.body)) is not None:
        fields["next"] = kept
    return client.http.post("/admin/sign-in", headers={**FORM, "Cookie": nonce},
                            body=urlencode({**fields, **extra}))


@pytest.mark.parametrize("wanted", ["/admin/results/contact", "/admin/results/contact/csv?status=all",
                                    "/admin/cases/contact/01JABCDEF0123456789ABCDEFG",
                                    "/admin/inbox?folder=spam&kind=question"])
def test_a_page_opened_without_a_session_is_where_the_sign_in_lands(client: Any, admin: None, wanted: str) -> None:
    sent = client.http.get(wanted, headers={"Accept": "text/html"})
    assert sent.status_code == 303
    location = _h(sent)["location"]
    assert urlsplit(location).path == "/admin" and parse_qs(urlsplit(location).query) == {"next": [wanted]}
    page = client.http.get(location)
    assert _hidden_next(page.body) == wanted
    signed_in = _sign_in_from(client, location)
    assert signed_in.status_code == 303 and _h(signed_in)["location"] == wanted
    cookie = _cookie(signed_in, "formloop_session").split(";")[0]
    if wanted.startswith("/admin/results/contact"):
        assert client.http.get(wanted, headers={"Cookie": cookie}).status_code == 200


def test_the_inbox_itself_and_a_one_time_notice_are_not_carried(client: Any, admin: None) -> None:
    assert _h(client.http.get("/admin/inbox"))["location"] == "/admin"
    case = "/admin/cases/contact/01JABCDEF0123456789ABCDEFG"
    sent = client.http.get(f"{case}?done=status")
    assert parse_qs(urlsplit(_h(sent)["location"]).query) == {"next": [case]}


@pytest.mark.parametrize("wanted", [w for w in HOSTILE if w])
def test_a_next_that_is_not_a_dashboard_page_lands_on_the_inbox(client: Any, admin: None, wanted: str) -> None:
    page = client.http.get("/admin?" + urlencode({"next": wanted}))
    assert page.status_code == 200 and _hidden_next(page.body) is None  # dropped before it reaches the form
    posted = _sign_in_from(client, "/admin", next=wanted)  # a forged form sends it anyway
    assert posted.status_code == 303 and _h(posted)["location"] == "/admin/inbox"


@pytest.mark.parametrize("wanted", ["https://evil.example/", "/%2F%2Fevil.example", "/admin/results/contact"])
def test_a_signed_in_owner_opening_the_sign_in_page_goes_on_to_a_dashboard_page_only(client: Any, admin: None,
                                                                                     wanted: str) -> None:
    cookie = session_cookie(client)
    sent = client.http.get("/admin?" + urlencode({"next": wanted}), headers={"Cookie": cookie})
    assert sent.status_code == 303
    assert _h(sent)["location"] == (wanted if wanted.startswith("/admin/") else "/admin/inbox")


def test_a_wrong_key_keeps_the_wanted_page_in_the_form_it_shows_again(client: Any, admin: None) -> None:
    refused = _sign_in_from(client, "/admin?next=%2Fadmin%2Fresults%2Fcontact", key="not-the-key")
    assert refused.status_code == 401 and _hidden_next(refused.body) == "/admin/results/contact"


def test_the_csrf_check_holds_whatever_next_says(client: Any, admin: None) -> None:
    page = client.http.get("/admin?next=%2Fadmin%2Fresults%2Fcontact")
    nonce = _cookie(page, "formloop_sign_in").split(";")[0]
    for fields in ({"csrf": "forged", "key": KEY, "next": "/admin/results/contact"},
                   {"key": KEY, "next": "/admin/results/contact"}):
        refused = client.http.post("/admin/sign-in", headers={**FORM, "Cookie": nonce}, body=urlencode(fields))
        assert refused.status_code == 403 and "location" not in _h(refused)
        assert "formloop_session" not in _h(refused).get("set-cookie", "")


def test_the_throttle_holds_whatever_next_says(client: Any, admin: None) -> None:
    for _ in range(WRONG_KEYS_PER_HOUR):
        assert _sign_in_from(client, "/admin?next=%2Fadmin%2Fresults%2Fcontact", key="guess").status_code == 401
    throttled = _sign_in_from(client, "/admin?next=%2Fadmin%2Fresults%2Fcontact")
    assert throttled.status_code == 429 and "location" not in _h(throttled)
