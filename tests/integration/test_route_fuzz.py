"""Random requests to every route the app registers (read from Chalice's `app.routes`, so a new route is fuzzed
without editing this file): whatever the method, path, query, headers and body, the answer is below 500 with
headers HTTP can carry, and a refused request leaves every table as it was.

Also: a valid post is never stored without a well-formed answer, whatever its `_next` and extra fields.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.integration.admin_support import KEY
from tests.integration.test_fuzz import FIELD_NAMES, header_text, json_bodies, multipart_bodies, urlencoded_bodies

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=fuzzb",
                 "text/plain", "text/csv", "application/octet-stream", "application/xml",
                 "application/merge-patch+json"]
PARAMETERS = ["lang", "format", "cursor", "status", "limit", "t", "_next"]
# Values that lead past the 404s: real forms, the shapes of ids Formloop hands out.
KNOWN = {"form_id": ["contact", "customer-survey", "product-feedback"], "campaign": ["spring-coupon"],
         "gift_id": ["g_0123456789abcdef0123456789abcdef"], "submission_id": ["01J0000000000000000000000A"],
         "name": ["x.eml"]}
ANSWERED = range(200, 400)


def _routes() -> list[tuple[str, list[str]]]:
    import app as app_module
    return sorted((path, sorted(methods)) for path, methods in app_module.app.routes.items())


ROUTES = _routes()
text = st.text(max_size=30)
deep_json = st.integers(9, 3000).map(lambda depth: ('{"t": ' + "[" * depth + "]" * depth + "}").encode())
bodies = st.one_of(st.just(b""), json_bodies, urlencoded_bodies, multipart_bodies, deep_json, st.binary(max_size=200))


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    """A method, a URL, headers and a body aimed at one of the app's routes."""
    template, methods = draw(st.sampled_from(ROUTES))
    # OPTIONS on a route without its own is answered by API Gateway (and, differently, by Chalice's test
    # client), never by Formloop.
    others = [method for method in METHODS if method != "OPTIONS" or "OPTIONS" in methods]
    method = draw(st.sampled_from(methods)) if draw(st.integers(0, 9)) < 8 else draw(st.sampled_from(others))

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = draw(st.sampled_from(KNOWN.get(name, ["x"]))) if draw(st.booleans()) else draw(text.filter(bool))
        return quote(value, safe="")

    path = re.sub(r"\{(\w+)\}", fill, template)
    query = draw(st.lists(st.tuples(st.one_of(st.sampled_from(PARAMETERS), text), text), max_size=4))
    url = f"{path}?{urlencode(query)}" if query else path
    headers = draw(st.fixed_dictionaries({}, optional={
        "Authorization": st.sampled_from([f"Bearer {KEY}", "Bearer wrong", "Basic eA==", ""]),
        "Content-Type": st.one_of(st.sampled_from(CONTENT_TYPES), header_text),
        "Accept": st.sampled_from(["application/json", "text/html", "text/csv", "*/*", ""]),
        "Origin": st.one_of(st.just("https://shop.example.com"), header_text),
        "Accept-Language": header_text,
        "Idempotency-Key": header_text,
    }))
    return method, url, headers, draw(bodies)


def _items(services) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many items each table holds (read consistently: a write just made is seen)."""
    counts: dict[str, int] = {}
    for store in services.stores:
        for model in store.models:
            table = model.Meta.table_name
            if table not in counts:
                counts[table] = sum(1 for _ in model.scan(consistent_read=True))
    return counts


def _assert_well_formed(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in response.headers.items():
        name.encode("ascii")
        value.encode("latin-1")
        assert "\r" not in value and "\n" not in value, (name, value)
    if "Location" in response.headers:
        assert re.fullmatch(r"[\x21-\x7e]+", response.headers["Location"]), response.headers["Location"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=requests())
def test_every_route_answers_below_500_and_refusals_store_nothing(  # type: ignore[no-untyped-def]
    client, services, admin, request: tuple[str, str, dict[str, str], bytes],
) -> None:
    method, url, headers, body = request
    before = _items(services)
    response = client.http.request(method, url, headers=headers, body=body)
    event(f"{method} {url.split('?')[0].split('/')[1]} {response.status_code}")
    assert response.status_code < 500, (response.status_code, response.body[:300])
    _assert_well_formed(response)
    if response.status_code not in ANSWERED:
        assert _items(services) == before, (method, url, response.status_code)


VALID = {"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "Hi", "consent": "on"}
next_values = st.one_of(
    text, st.text(st.characters(codec="utf-8"), max_size=40).map(lambda t: "/" + t),
    st.sampled_from(["/merci-ü-日本", "/a%20b", "//evil.example", "https://shop.example.com/ok ü", "/\r\nX: y",
                     "/\x00", "/%zz", "http://[oops", "/thanks?x=<script>", "/\u2028"]),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(next_url=next_values, extra=st.lists(st.tuples(st.sampled_from(FIELD_NAMES), text), max_size=3),
       origin=st.sampled_from([None, "https://shop.example.com"]), as_json=st.booleans())
def test_no_valid_post_is_stored_without_a_well_formed_answer(  # type: ignore[no-untyped-def]
    client, services, shop_only_contact, next_url: str, extra: list[tuple[str, str]], origin: str | None,
    as_json: bool,
) -> None:
    fields: list[tuple[str, Any]] = [*VALID.items(), *extra, ("_next", next_url)]
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Accept": "application/json" if as_json else "text/html", **({"Origin": origin} if origin else {})}
    body = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in fields]).encode()
    before = services.store.count("contact")
    response = client.http.post("/f/contact", headers=headers, body=body)
    assert response.status_code < 500, response.body[:300]
    _assert_well_formed(response)
    if services.store.count("contact") > before:
        assert response.status_code in ANSWERED, (response.status_code, response.body[:300])
