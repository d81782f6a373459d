"""Admin listing and CSV export of submissions, against DynamoDB Local."""
from __future__ import annotations

import csv
import io
import json

import pytest

from chalicelib.reporting.exports import neutralise

from .admin_support import AUTH

CONTACT = {"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "Hello", "consent": True}


def post(client, form: str, body: dict[str, object]) -> str:  # type: ignore[no-untyped-def]
    response = client.http.post(f"/f/{form}", body=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def rows_of(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def test_json_pages_follow_the_cursor_newest_first(client, services, admin):  # type: ignore[no-untyped-def]
    ids = [post(client, "contact", {**CONTACT, "message": f"m{n}"}) for n in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        path = "/admin/forms/contact/submissions?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.http.get(path, headers=AUTH).json_body
        seen += [s["id"] for s in page["submissions"]]
        pages += 1
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids)) and pages == 3
    first = client.http.get("/admin/forms/contact/submissions", headers=AUTH).json_body["submissions"][0]
    assert first["answers"]["message"] == "m4" and first["status"] == "received" and first["feedbackKind"] == "idea"


def test_one_submission_and_unknown_ids(client, services, admin):  # type: ignore[no-untyped-def]
    submission_id = post(client, "contact", CONTACT)
    one = client.http.get(f"/admin/forms/contact/submissions/{submission_id}", headers=AUTH)
    assert one.status_code == 200 and one.json_body["answers"]["name"] == "Ann"
    assert client.http.get("/admin/forms/contact/submissions/01JB0000000000000000000000",
                           headers=AUTH).status_code == 404
    assert client.http.get("/admin/forms/contact/submissions/not-an-id", headers=AUTH).status_code == 404
    assert client.http.get(f"/admin/forms/customer-survey/submissions/{submission_id}",
                           headers=AUTH).status_code == 404  # ids belong to their form
    assert client.http.get("/admin/forms/nope/submissions", headers=AUTH).status_code == 404


@pytest.mark.parametrize("query", ["cursor=garbage", "cursor=eyJhZnRlciI6IjEiLCJzdGF0dXMiOiJ4In0",
                                   "limit=0", "limit=1000", "limit=ten", "status=deleted"])
def test_bad_listing_parameters_are_400(client, services, admin, query):  # type: ignore[no-untyped-def]
    response = client.http.get(f"/admin/forms/contact/submissions?{query}",
                               headers={**AUTH, "Accept": "application/json"})
    assert response.status_code == 400
    assert response.json_body["detail"]


def test_spam_is_listed_only_when_asked(client, services, admin):  # type: ignore[no-untyped-def]
    post(client, "contact", CONTACT)
    post(client, "contact", {**CONTACT, "_gotcha": "bot"})
    received = client.http.get("/admin/forms/contact/submissions", headers=AUTH).json_body["submissions"]
    spam = client.http.get("/admin/forms/contact/submissions?status=spam", headers=AUTH).json_body["submissions"]
    everything = client.http.get("/admin/forms/contact/submissions?status=all", headers=AUTH).json_body
    assert [s["status"] for s in received] == ["received"]
    assert [s["status"] for s in spam] == ["spam"]
    assert len(everything["submissions"]) == 2


def test_csv_columns_follow_the_definition(client, services, admin):  # type: ignore[no-untyped-def]
    post(client, "product-feedback", {
        "email": "a@example.com", "product": "app", "satisfaction": 4, "nps": 9, "features": ["search", "returns"],
        "agreement": {"easy": 5, "fast": 2, "value": 3}, "consent": True, "orders": 3})
    response = client.http.get("/admin/forms/product-feedback/submissions?format=csv", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="product-feedback.csv"' in response.headers["Content-Disposition"]
    header, row = rows_of(response.body)
    assert header == ["id", "created_at", "status", "feedback_kind", "language", "name", "email", "orders",
                      "purchased", "product", "plan", "features", "satisfaction", "nps", "agreement.easy",
                      "agreement.fast", "agreement.value", "improve", "kind", "comments", "consent"]
    record = dict(zip(header, row, strict=True))
    assert record["features"] == "search; returns" and record["agreement.fast"] == "2"
    assert record["nps"] == "9" and record["consent"] == "yes" and record["orders"] == "3"
    accept = client.http.get("/admin/forms/product-feedback/submissions", headers={**AUTH, "Accept": "text/csv"})
    assert rows_of(accept.body)[0] == header


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1)"])
def test_csv_injection_is_neutralised(client, services, admin, payload):  # type: ignore[no-untyped-def]
    post(client, "contact", {**CONTACT, "name": payload, "message": f"{payload} in the message"})
    header, row = rows_of(client.http.get("/admin/forms/contact/submissions?format=csv", headers=AUTH).body)
    record = dict(zip(header, row, strict=True))
    assert record["name"] == "'" + payload
    assert record["message"] == "'" + payload + " in the message"


def test_neutralise_leaves_ordinary_text_alone() -> None:
    assert neutralise("Hello = world") == "Hello = world"
    assert neutralise("") == ""
    assert neutralise("=1+1") == "'=1+1"
    # Answers are trimmed before storing, but a tab or CR could still lead a cell from other sources.
    assert neutralise("\tcmd") == "'\tcmd" and neutralise("\r=cmd") == "'\r=cmd"


def test_numbers_are_not_mistaken_for_formulas() -> None:
    from decimal import Decimal

    from chalicelib.reporting.exports import _cell
    assert _cell(-5) == "-5" and _cell(Decimal("-2")) == "-2" and _cell(Decimal("2.5")) == "2.5"
    assert _cell(["=a", "b"]) == "'=a; b" and _cell(True) == "yes" and _cell(None) == ""


def test_csv_is_written_page_by_page(client, services, admin):  # type: ignore[no-untyped-def]
    for n in range(7):
        post(client, "contact", {**CONTACT, "message": f"m{n}"})
    chunks = list(services.exports.csv_chunks("contact", page_size=3))
    assert len(chunks) == 3  # 3 + 3 + 1 rows, one Query each
    assert [cursor is None for _, cursor in chunks] == [False, False, True]
    rows = rows_of("".join(chunk for chunk, _ in chunks).encode())
    assert len(rows) == 8 and rows[0][0] == "id"
    message = rows[0].index("message")
    assert [r[message] for r in rows[1:]] == [f"m{n}" for n in reversed(range(7))]


def test_a_large_csv_is_cut_at_a_page_with_a_next_link(client, services, admin):  # type: ignore[no-untyped-def]
    for n in range(5):
        post(client, "contact", {**CONTACT, "message": f"m{n}"})
    first = services.exports.csv("contact", max_bytes=1, page_size=2)
    assert first.next_cursor is not None and len(rows_of(first.body.encode())) == 3  # the header and one page
    rest = services.exports.csv("contact", cursor=first.next_cursor, page_size=2)
    assert rest.next_cursor is None
    rows = rows_of((first.body + rest.body).encode())
    assert rows[0][0] == "id" and len(rows) == 6  # the header once, every submission once
