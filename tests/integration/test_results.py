"""Survey results: counters kept by the post-write consumer, read back by the admin routes."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.core.submission import Submission

from .admin_support import AUTH, KEY


def answers(n: int, nps: int, satisfaction: int, features: list[str], easy: int, kind: str,
            improve: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {
        "email": f"r{n}@example.com", "product": "app" if n % 2 else "store", "satisfaction": satisfaction,
        "nps": nps, "features": features, "agreement": {"easy": easy, "fast": 3, "value": 4}, "kind": kind,
        "orders": n * 2, "consent": True,
    }
    if improve:
        out["improve"] = improve
    return out


# A known set: NPS 10, 9, 8, 3, 0 -> 2 promoters, 1 passive, 2 detractors -> score 0.
KNOWN = [
    answers(1, 10, 5, ["search"], 5, "praise"),
    answers(2, 9, 4, ["search", "returns"], 4, "praise"),
    answers(3, 8, 4, ["tracking"], 4, "idea"),
    answers(4, 3, 2, ["returns", "search"], 2, "complaint", "Checkout keeps failing"),
    answers(5, 0, 1, ["reviews"], 1, "complaint", "=HYPERLINK(\"http://x\")"),
]


def post_all(client, services) -> list[Submission]:  # type: ignore[no-untyped-def]
    for body in KNOWN:
        response = client.http.post("/f/product-feedback", body=json.dumps(body),
                                    headers={"Content-Type": "application/json"})
        assert response.status_code == 201, response.body
    stored = list(services.store.list("product-feedback", newest_first=False))
    for submission in stored:
        for consumer in services.consumers:
            if consumer == services.results.consume:
                consumer(submission)
    return stored


def test_results_numbers_are_exact(client, services, admin):  # type: ignore[no-untyped-def]
    post_all(client, services)
    response = client.http.get("/admin/forms/product-feedback/results", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    results = response.json_body
    assert results["total"] == 5
    assert results["byKind"] == {"praise": 2, "idea": 1, "complaint": 2}
    assert results["byDay"] == [{"day": datetime.now(UTC).date().isoformat(), "count": 5}]
    q = {question["name"]: question for question in results["questions"]}
    assert q["nps"]["nps"] == {"score": 0, "promoters": 2, "passives": 1, "detractors": 2}
    assert q["nps"]["average"] == 6.0
    assert [d["count"] for d in q["nps"]["distribution"]] == [1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1]
    assert q["satisfaction"]["average"] == 3.2
    assert {d["value"]: d["count"] for d in q["satisfaction"]["distribution"]} == {1: 1, 2: 1, 3: 0, 4: 2, 5: 1}
    assert q["satisfaction"]["distribution"][4]["label"] == "Excellent"
    assert {c["value"]: c["count"] for c in q["features"]["counts"]} == {
        "search": 3, "checkout": 0, "tracking": 1, "returns": 2, "reviews": 1}
    assert q["features"]["answered"] == 5 and q["features"]["type"] == "multiple"
    assert {c["value"]: c["count"] for c in q["product"]["counts"]} == {"app": 3, "website": 0, "store": 2}
    assert q["product"]["counts"][0]["percent"] == 60.0
    rows = {row["key"]: row for row in q["agreement"]["rows"]}
    assert rows["easy"]["average"] == 3.2 and rows["fast"]["average"] == 3.0 and rows["value"]["answered"] == 5
    assert [d["count"] for d in rows["easy"]["distribution"]] == [1, 1, 0, 2, 1]
    assert q["orders"]["average"] == 6.0
    assert q["consent"]["yes"] == 5
    assert [t["text"] for t in q["improve"]["latest"]] == ["=HYPERLINK(\"http://x\")", "Checkout keeps failing"]
    assert q["email"]["type"] == "answered" and "latest" not in q["email"]  # no addresses in results


def test_a_redelivered_submission_counts_once(client, services, admin):  # type: ignore[no-untyped-def]
    stored = post_all(client, services)
    for submission in stored:  # the stream delivers every record a second time
        services.results.consume(submission)
    results = client.http.get("/admin/forms/product-feedback/results", headers=AUTH).json_body
    assert results["total"] == 5
    nps = next(q for q in results["questions"] if q["name"] == "nps")
    assert nps["nps"]["promoters"] == 2
    improve = next(q for q in results["questions"] if q["name"] == "improve")
    assert len(improve["latest"]) == 2


def test_spam_is_not_counted(client, services, admin):  # type: ignore[no-untyped-def]
    services.results.consume(Submission(form="product-feedback", id="01JB0000000000000000000000",
                                        created_at=datetime.now(UTC), status="spam", answers=KNOWN[0]))
    assert client.http.get("/admin/forms/product-feedback/results", headers=AUTH).json_body["total"] == 0


def test_results_page_is_html_with_svg_charts(client, services, admin):  # type: ignore[no-untyped-def]
    post_all(client, services)
    for request in ({"Accept": "text/html,application/xhtml+xml"}, {}):
        path = "/admin/forms/product-feedback/results" + ("" if request else "?format=html")
        response = client.http.get(path, headers={**AUTH, **request})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        page = response.body.decode()
        assert page.count("<svg") >= 8 and 'role="img"' in page
        assert "NPS 0" in page and "2 promoters" in page
        assert "Checkout keeps failing" in page
        assert "<script" not in page


def test_results_in_another_language(client, services, admin):  # type: ignore[no-untyped-def]
    post_all(client, services)
    results = client.http.get("/admin/forms/product-feedback/results?lang=ru", headers=AUTH).json_body
    satisfaction = next(q for q in results["questions"] if q["name"] == "satisfaction")
    assert satisfaction["label"] == "Насколько вы довольны продуктом?"
    assert satisfaction["distribution"][4]["label"] == "Отлично"


def test_results_of_unknown_form_is_404(client, admin):  # type: ignore[no-untyped-def]
    assert client.http.get("/admin/forms/nope/results", headers=AUTH).status_code == 404


@pytest.mark.parametrize("path", ["/admin/forms/product-feedback/results",
                                  "/admin/forms/product-feedback/results?format=html",
                                  "/admin/forms/product-feedback/submissions",
                                  "/admin/forms/product-feedback/submissions?format=csv",
                                  "/admin/forms/product-feedback/submissions/01JB0000000000000000000000"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {KEY}"},
                                     {"Authorization": "Bearer "}])
def test_admin_routes_need_the_key(client, admin, path, headers):  # type: ignore[no-untyped-def]
    response = client.http.get(path, headers={"Accept": "application/json", **headers})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Checkout" not in response.body.decode()


def _snapshot(services) -> dict[str, list[dict[str, object]]]:  # type: ignore[no-untyped-def]
    tables: dict[str, list[dict[str, object]]] = {}
    for store in services.stores:
        for model in store.models:
            items = [json.dumps(item.to_simple_dict(), sort_keys=True, default=str)
                     for item in model.scan(consistent_read=True)]
            tables[model.Meta.table_name] = sorted(items)  # type: ignore[assignment]
    return tables


def test_no_admin_route_changes_state_on_get(client, services, admin):  # type: ignore[no-untyped-def]
    stored = post_all(client, services)
    before = _snapshot(services)
    listing = client.http.get("/admin/forms/product-feedback/submissions?limit=2", headers=AUTH).json_body
    for path in ["/admin/forms/product-feedback/results", "/admin/forms/product-feedback/results?format=html",
                 "/admin/forms/product-feedback/submissions?format=csv",
                 f"/admin/forms/product-feedback/submissions?cursor={listing['nextCursor']}",
                 f"/admin/forms/product-feedback/submissions/{stored[0].id}"]:
        assert client.http.get(path, headers=AUTH).status_code == 200, path
    assert _snapshot(services) == before


def test_latest_texts_keep_the_newest_few_newest_first(services):  # type: ignore[no-untyped-def]
    from ulid import ULID

    from chalicelib.storage.results import Contribution, ResultStore
    store = ResultStore(services.settings, latest=3)
    now = datetime.now(UTC)
    ids = [str(ULID.from_timestamp(now.timestamp() + n)) for n in range(5)]
    for n in [0, 2, 1, 4, 3]:  # delivered out of order, as stream shards may
        store.add(Contribution("product-feedback", ids[n], now, {"total": 1}, {"improve": f"text {n}"}))
    store.add(Contribution("product-feedback", ids[0], now, {"total": 1}, {"improve": "text 0"}))  # redelivered
    stored = store.read("product-feedback", ["improve", "comments"])
    assert [t.text for t in stored.texts["improve"]] == ["text 4", "text 3", "text 2"]
    assert stored.texts["comments"] == [] and stored.counters["total"] == 5


def test_results_warn_when_the_survey_gift_runs_low(client, services, admin):  # type: ignore[no-untyped-def]
    # customer-survey hands out spring-coupon gifts; its stock rides along with the results.
    campaign = services.forms.get("customer-survey").settings["gift"]["campaign"]
    services.gifts.generate(campaign, 3)
    response = client.http.get("/admin/forms/customer-survey/results", headers=AUTH)
    assert response.status_code == 200
    gift = response.json_body["gift"]
    assert gift["campaign"] == campaign and gift["available"] == 3
    assert gift["lowStock"] is True
    page = client.http.get("/admin/forms/customer-survey/results", headers={**AUTH, "Accept": "text/html"})
    assert "Low stock" in page.body.decode() and "3 codes left" in page.body.decode()
    no_gift = client.http.get("/admin/forms/product-feedback/results", headers=AUTH)
    assert "gift" not in no_gift.json_body
