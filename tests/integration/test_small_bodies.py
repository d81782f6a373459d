"""The small bodies and query strings of the gift and admin routes are read like a form post: same parser,
same limits, a specific 4xx for each hostile shape, and nothing changed by a refused request."""
from __future__ import annotations

import base64
import json

import pytest

from tests.integration.admin_support import AUTH

JSON = {"Content-Type": "application/json", "Accept": "application/json"}
# Each route, and the field it reads.
SMALL_BODY_ROUTES = [("/g/some-gift", "t"), ("/g/some-gift/redeem", "t"), ("/admin/gifts/redeem", "code"),
                     ("/admin/gifts/revoke", "gift"), ("/admin/addresses/erase", "email"),
                     ("/admin/addresses/export", "email")]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("path", "name"), SMALL_BODY_ROUTES)
@pytest.mark.parametrize("depth", [9, 1500, 30_000])
def test_deep_json_is_413_on_every_small_body_route(client, admin, path, name, depth):  # type: ignore[no-untyped-def]
    body = f'{{"{name}": {nested(depth)}}}'.encode()
    response = client.http.post(path, headers={**JSON, **AUTH}, body=body)
    assert response.status_code == 413, response.body[:200]
    assert "nested more than 8 levels" in json.loads(response.body)["detail"]


@pytest.mark.parametrize(("path", "name"), SMALL_BODY_ROUTES)
def test_a_field_that_is_not_text_is_400(client, admin, path, name):  # type: ignore[no-untyped-def]
    response = client.http.post(path, headers={**JSON, **AUTH}, body=json.dumps({name: {"a": [1, [2]]}}).encode())
    assert response.status_code == 400
    assert json.loads(response.body)["detail"] == f"The field {name!r} must be a string, e.g. {{\"{name}\": \"…\"}}."


@pytest.mark.parametrize("body", [b'{"t": "a", "t": "b"}', b"{not json", b'{"t": NaN}', b"[1, 2]",
                                  b'{"t": "\\ud800"}'])
def test_unreadable_json_is_400(client, body):  # type: ignore[no-untyped-def]
    response = client.http.post("/g/some-gift", headers=JSON, body=body)
    assert response.status_code == 400, response.body[:200]


def test_a_body_over_the_limit_is_413_not_ignored(client, admin):  # type: ignore[no-untyped-def]
    body = b"email=ann%40example.com&pad=" + b"x" * (70 * 1024)
    response = client.http.post("/admin/addresses/erase", body=body,
                                headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded",
                                         "Accept": "application/json"})
    assert response.status_code == 413


def test_a_nested_cursor_is_400_and_erases_nothing(client, services, admin):  # type: ignore[no-untyped-def]
    client.http.post("/f/customer-survey", headers=JSON, body=b'{"nps": 9, "email": "ann@example.com"}')
    assert services.store.count("customer-survey") == 1
    for inner in ({"after": {"x": json.loads(nested(7))}, "status": "received"}, json.loads(nested(8))):
        cursor = base64.urlsafe_b64encode(json.dumps(inner).encode()).decode().rstrip("=")
        for sent in (cursor, {"deep": [cursor]}):
            response = client.http.post("/admin/addresses/erase", headers={**JSON, **AUTH},
                                        body=json.dumps({"email": "ann@example.com", "cursor": sent}).encode())
            assert response.status_code == 400, response.body[:200]
    deep_cursor = base64.urlsafe_b64encode(nested(200).encode()).decode()
    listing = client.http.get(f"/admin/forms/customer-survey/submissions?cursor={deep_cursor}", headers=AUTH)
    assert listing.status_code == 400
    assert services.store.count("customer-survey") == 1


@pytest.mark.parametrize(("query", "status"), [("lang=" + "x" * 20_001, 413), ("lang=%00", 400),
                                               ("&".join(f"p{n}=1" for n in range(201)), 413)])
def test_hostile_query_parameters_are_refused(client, query, status):  # type: ignore[no-untyped-def]
    for path in ("/f/contact", "/g/some-gift"):
        response = client.http.get(f"{path}?{query}", headers={"Accept": "application/json"})
        assert response.status_code == status, (path, response.status_code, response.body[:200])
