"""Every response carries the shared security headers; every page a strict Content-Security-Policy that still
allows exactly what the page inlines, and frames or posts only where its form allows."""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlencode

import pytest

from tests.integration.admin_support import AUTH

BROWSER = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
CONTACT = {"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "Hi", "consent": "on"}
INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)


def directives(policy: str) -> dict[str, list[str]]:
    """A policy as {directive: [sources]}."""
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def assert_strict_page(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The page's policy allows nothing by default, no inline code but its own blocks, and each of them."""
    assert response.headers["Content-Type"].startswith("text/html")
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    for kind in ("script-src", "style-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "'unsafe-hashes'"} & set(policy[kind]), kind
    body = response.body.decode()
    for kind, text in INLINE.findall(body):
        assert sha256(text) in policy[f"{kind}-src"], (kind, text[:80])
    assert not re.search(r"\son[a-z]+\s*=", body), "an inline event handler"
    assert re.search(r"\sstyle\s*=", body) is None, "a style attribute"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return policy


def test_the_hosted_forms_and_their_pages_are_strict(client, forms_open_to_any_site):  # type: ignore[no-untyped-def]
    for form_id in ("contact", "customer-survey", "product-feedback"):
        policy = assert_strict_page(client.http.get(f"/f/{form_id}"))
        assert policy["form-action"][0] == "'self'"
        assert policy["frame-ancestors"] == ["'self'"]  # no allowedOrigins: only Formloop may frame it
        assert_strict_page(client.http.get(f"/f/{form_id}/thanks"))
    # The re-rendered form with its error summary (and the script that focuses it).
    invalid = client.http.post("/f/contact", headers=BROWSER, body=urlencode({**CONTACT, "email": "nope"}))
    assert invalid.status_code == 422 and "error-summary" in invalid.body.decode()
    assert_strict_page(invalid)
    assert_strict_page(client.http.get("/f/no-such-form"))


def test_a_form_may_be_framed_and_redirect_only_where_it_allows(client, shop_only_contact):  # type: ignore[no-untyped-def]
    policy = assert_strict_page(client.http.get("/f/contact"))
    assert policy["frame-ancestors"] == ["'self'", "https://shop.example.com"]
    # A browser follows the 303 to the shop's page only if form-action allows it.
    assert policy["form-action"] == ["'self'", "https://shop.example.com"]
    refused = client.http.post("/f/contact", headers={**BROWSER, "Origin": "https://evil.example"},
                               body=urlencode(CONTACT))
    assert refused.status_code == 403
    assert directives(refused.headers["Content-Security-Policy"])["frame-ancestors"][-1] == "https://shop.example.com"


def test_admin_and_gift_pages_cannot_be_framed(client, admin):  # type: ignore[no-untyped-def]
    results = client.http.get("/admin/forms/customer-survey/results", headers={**AUTH, "Accept": "text/html"})
    assert results.status_code == 200
    policy = assert_strict_page(results)
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'none'"]
    gift = client.http.get("/g/no-such-gift?t=x", headers={"Accept": "text/html"})
    assert gift.status_code == 404
    policy = assert_strict_page(gift)
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert gift.headers["Referrer-Policy"] == "no-referrer"  # the gift link is a credential


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/f/contact/schema", {}),
    ("POST", "/f/contact", {"Accept": "application/json", "Content-Type": "application/json"}),
    ("GET", "/admin/forms/contact/submissions", AUTH),
    ("GET", "/admin/forms/contact/submissions", {}),
    ("POST", "/admin/gifts/redeem", {**AUTH, "Content-Type": "application/xml"}),  # Formloop's 415 (problem+json)
    ("GET", "/g/x", {"Accept": "application/json"}),
])
def test_every_response_is_nosniff_with_a_referrer_policy(client, admin, method, path, headers):  # type: ignore[no-untyped-def]
    response = client.http.request(method, path, headers=headers, body=b"{}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer",
                                                   "same-origin", "strict-origin")
    if not response.headers.get("Content-Type", "").startswith("text/html"):
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("origin", [None, "https://shop.example.com", "https://evil.example"])
def test_cors_routes_vary_by_origin_allowed_or_not(client, shop_only_contact, origin):  # type: ignore[no-untyped-def]
    sent = {"Origin": origin} if origin else {}
    for method, path, extra in [
        ("POST", "/f/contact", {"Accept": "application/json", "Content-Type": "application/json"}),
        ("POST", "/f/contact", BROWSER), ("OPTIONS", "/f/contact", {}), ("GET", "/f/contact/schema", {}),
        ("GET", "/f/no-such-form/schema", {}), ("POST", "/f/no-such-form", BROWSER),
    ]:
        response = client.http.request(method, path, headers={**extra, **sent}, body=b'{"x": 1}')
        vary = [part.strip().lower() for part in response.headers.get("Vary", "").split(",")]
        assert "origin" in vary, (method, path, origin, response.status_code)


# What a listed site's script reads: the answer to its post (a 4xx without answers too) and the schema.
CORS_READS = {("POST", "/f/contact"), ("GET", "/f/contact/schema")}


def _form_routes() -> list[tuple[str, str]]:
    """Every (method, path) of a route about one form, its form filled in as the shop-only contact form."""
    import app as app_module
    return sorted((method, path.replace("{form_id}", "contact"))
                  for path, methods in app_module.app.routes.items() if "{form_id}" in path
                  for method in methods if method != "OPTIONS" and "{" not in path.replace("{form_id}", ""))


@pytest.mark.parametrize("origin", [None, "https://shop.example.com", "https://evil.example"])
def test_only_the_public_form_routes_answer_cors(client, shop_only_contact, admin, origin):  # type: ignore[no-untyped-def]
    """Admin API errors and the thanks page are never readable from another site, even the form's own."""
    from chalicelib.routes.headers import CORS_ROUTES
    sent = {"Origin": origin} if origin else {}
    routes = _form_routes()
    assert ("GET", "/admin/forms/contact/results") in routes and ("GET", "/f/contact/thanks") in routes
    for method, path in routes:
        for extra in ({}, {"Accept": "application/json"}, AUTH):
            response = client.http.request(method, path, headers={**extra, **sent}, body=b"")
            allowed = response.headers.get("Access-Control-Allow-Origin")
            vary = [part.strip().lower() for part in response.headers.get("Vary", "").split(",")]
            if path.replace("contact", "{form_id}", 1) in CORS_ROUTES:
                assert "origin" in vary, (method, path, origin, response.status_code)
                assert allowed in (None, "https://shop.example.com") and (allowed is None or allowed == origin)
                if origin == "https://shop.example.com" and (method, path) in CORS_READS:
                    assert allowed == origin, (method, path, response.status_code)
            else:
                assert allowed is None, (method, path, origin, response.status_code)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain", "application/xml",
                                          "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"])
def test_wrong_methods_on_a_form_are_405_whatever_the_type(client, method, content_type):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.http.request(method, "/f/contact", headers=headers, body=b"name=Ann")
    assert response.status_code == 405, response.body[:200]
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


@pytest.mark.parametrize(("next_url", "location"), [
    ("/merci-ü-日本", "/merci-%C3%BC-%E6%97%A5%E6%9C%AC"),
    ("/already%20encoded?q=%C3%BC&x=1#top", "/already%20encoded?q=%C3%BC&x=1#top"),
    ("/a b\"<c>", "/a%20b%22%3Cc%3E"),
])
def test_location_is_a_uri(client, services, next_url, location):  # type: ignore[no-untyped-def]
    response = client.http.post("/f/contact", headers=BROWSER, body=urlencode({**CONTACT, "_next": next_url}))
    assert response.status_code == 303
    assert response.headers["Location"] == location
    response.headers["Location"].encode("ascii")
    assert services.store.count("contact") == 1
