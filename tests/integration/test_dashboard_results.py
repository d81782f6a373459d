"""A form's results in the dashboard over HTTP (chalice.test.Client on DynamoDB Local): the session cookie is what
opens them (no CSRF token on a GET, and a GET changes nothing), a browser without one is sent to sign in, the CSV
is the admin API's own export, and the API itself still answers bearer keys only."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.pages.csp import source_hash
from tests.integration.admin_support import AUTH
from tests.integration.test_dashboard import session_cookie
from tests.integration.test_results import _snapshot, post_all

PAGE = "/admin/results/product-feedback"
CSV = "/admin/results/product-feedback/csv"


@pytest.fixture
def cookie(client: Any, admin: None) -> str:
    """A signed-in owner's session cookie ("formloop_session=…")."""
    return session_cookie(client)


def _h(response: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


@pytest.mark.parametrize("path", [PAGE, CSV, f"{CSV}?status=all", "/admin/results/nope"])
@pytest.mark.parametrize("headers", [{}, AUTH, {"Cookie": "formloop_session=forged.0123"}])
def test_without_a_session_a_browser_is_sent_to_sign_in(client: Any, admin: None, path: str,
                                                        headers: dict[str, str]) -> None:
    # A bearer key is the API's credential, not a browser's: the dashboard's pages want the session.
    response = client.http.get(path, headers={"Accept": "text/html", **headers})
    assert response.status_code == 303 and _h(response)["location"] == "/admin?" + urlencode({"next": path})
    assert b"product-feedback" not in response.body and "set-cookie" not in _h(response)


def test_the_inbox_links_each_form_s_results(client: Any, cookie: str, services: Any) -> None:
    inbox = client.http.get("/admin/inbox", headers={"Cookie": cookie}).body.decode()
    links = re.findall(r'href="(/admin/results/[^"]+)"', inbox)
    assert links == [f"/admin/results/{form}" for form in sorted(services.forms.ids())]


def test_the_results_page_shows_charts_nps_by_week_sources_and_the_csv_link(client: Any, services: Any,
                                                                            cookie: str) -> None:
    post_all(client, services)
    response = client.http.get(PAGE, headers={"Cookie": cookie})  # a GET: no CSRF token needed
    assert response.status_code == 200, response.body[:400]
    headers = _h(response)
    assert headers["cache-control"] == "no-store" and "set-cookie" not in headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    styles = re.findall(r"<style>(.*?)</style>", response.body.decode(), re.DOTALL)
    assert len(styles) == 2 and all(source_hash(style) in policy for style in styles)  # the layout's, the charts'
    page = response.body.decode()
    assert "Signed in as admin" in page and "<script" not in page
    assert "NPS 0" in page and "2 promoters · 1 passive · 2 detractors" in page
    assert "NPS by week" in page and re.search(r"<td>2</td><td>1</td><td>2</td><td>0</td>", page)
    assert "By source" in page and "By kind of feedback" in page and "Checkout keeps failing" in page
    assert f'href="{CSV}"' in page and f'href="{CSV}?status=all"' in page
    assert 'href="/admin/inbox?form=product-feedback"' in page


def test_the_survey_s_page_shows_its_gift_stock(client: Any, services: Any, cookie: str) -> None:
    campaign = services.forms.get("customer-survey").settings["gift"]["campaign"]
    services.gifts.generate(campaign, 3)
    page = client.http.get("/admin/results/customer-survey", headers={"Cookie": cookie}).body.decode()
    assert f"Gift stock: {campaign}" in page and "Low stock" in page
    stock = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page))
    assert stock == {"Codes left": "3", "Links sent": "0", "Issued": "0", "Claimed": "0", "Redeemed": "0",
                     "Expired": "0"}


@pytest.mark.parametrize("query", ["", "?status=all", "?status=spam"])
def test_the_csv_is_the_api_s_export(client: Any, services: Any, cookie: str, query: str) -> None:
    post_all(client, services)
    mine = client.http.get(CSV + query, headers={"Cookie": cookie})
    api_query = "?format=csv" + ("&" + query[1:] if query else "")
    theirs = client.http.get("/admin/forms/product-feedback/submissions" + api_query, headers=AUTH)
    assert mine.status_code == theirs.status_code == 200
    assert mine.body == theirs.body and mine.body.count(b"\r\n") == (6 if query != "?status=spam" else 1)
    for name in ("content-type", "content-disposition", "cache-control"):
        assert _h(mine)[name] == _h(theirs)[name], name
    assert b"'=HYPERLINK" in mine.body or query == "?status=spam"  # the same neutralised cells


def test_a_cut_export_links_its_next_part(client: Any, services: Any, cookie: str) -> None:
    post_all(client, services)
    original = services.exports.csv

    def small(form_id: str, **kwargs: Any) -> Any:
        return original(form_id, **kwargs, max_bytes=1, page_size=2)
    services.exports.csv = small
    try:
        first = client.http.get(CSV, headers={"Cookie": cookie})
        link = _h(first)["link"]
        cursor = re.fullmatch(r'<\?cursor=([^>]+)>; rel="next"', link)
        assert cursor, link
        rest = client.http.get(f"{CSV}?cursor={cursor[1]}", headers={"Cookie": cookie})
        assert rest.status_code == 200 and rest.body.count(b"\r\n") == 2 and not rest.body.startswith(b"id,")
    finally:
        del services.exports.csv


def test_the_pages_change_nothing(client: Any, services: Any, cookie: str) -> None:
    post_all(client, services)
    before = _snapshot(services)
    for path in (PAGE, CSV, f"{CSV}?status=all", "/admin/results/customer-survey"):
        assert client.http.get(path, headers={"Cookie": cookie}).status_code == 200, path
    assert _snapshot(services) == before


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/admin/results/nope", 404, b"form"), ("/admin/results/nope/csv", 404, b"form"),
    (f"{CSV}?status=deleted", 400, b"status must be one of"), (f"{CSV}?cursor=forged", 400, b"cursor is not valid")])
def test_a_wrong_form_or_query_is_a_4xx_a_person_can_act_on(client: Any, cookie: str, path: str, status: int,
                                                           says: bytes) -> None:
    response = client.http.get(path, headers={"Cookie": cookie, "Accept": "text/html"})
    assert response.status_code == status and says in response.body, response.body[:300]


def test_the_api_keeps_its_bearer_keys(client: Any, services: Any, cookie: str) -> None:
    post_all(client, services)
    api = client.http.get("/admin/forms/product-feedback/results", headers=AUTH)
    assert api.status_code == 200
    nps = next(q for q in json.loads(api.body)["questions"] if q["name"] == "nps")
    assert nps["npsByWeek"][-1]["answered"] == 5 and nps["npsByWeek"][-1]["score"] == 0
    # The session cookie opens the dashboard's pages only, never the API.
    for path in ("/admin/forms/product-feedback/results", "/admin/forms/product-feedback/submissions?format=csv"):
        refused = client.http.get(path, headers={"Cookie": cookie, "Accept": "application/json"})
        assert refused.status_code == 401, path
