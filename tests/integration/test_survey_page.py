"""The hosted survey page and survey posts, end to end through app.py and DynamoDB Local."""
from __future__ import annotations

from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
# What a browser posts from the product-feedback page (a matrix row is `question.row`).
ANSWERS: list[tuple[str, str]] = [
    ("name", "Ann"), ("email", "ann@example.com"), ("orders", "12"), ("purchased", "2026-10-01"),
    ("product", "app"), ("plan", "plus"), ("features", "search"), ("features", "returns"),
    ("satisfaction", "4"), ("nps", "3"), ("agreement.easy", "5"), ("agreement[fast]", "2"),
    ("agreement.value", "3"), ("improve", "Faster delivery"), ("kind", "complaint"), ("consent", "on"),
]


def post(client, form, fields, **headers):  # type: ignore[no-untyped-def]
    return client.http.post(f"/f/{form}", headers={"Content-Type": FORM, **headers},
                            body=urlencode(fields, doseq=True))


def test_page_language_from_query_then_accept_language(client):  # type: ignore[no-untyped-def]
    russian = client.http.get("/f/product-feedback?lang=ru", headers={"Accept-Language": "en"})
    assert russian.status_code == 200
    assert '<html lang="ru">' in russian.body.decode() and "Отзыв о продукте" in russian.body.decode()
    negotiated = client.http.get("/f/product-feedback", headers={"Accept-Language": "de;q=1, ru;q=0.8, en;q=0.5"})
    assert '<html lang="ru">' in negotiated.body.decode()
    fallback = client.http.get("/f/product-feedback?lang=fr", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in fallback.body.decode() and "Product feedback" in fallback.body.decode()


def test_every_question_type_posted_from_the_page_is_stored_typed(client, services):  # type: ignore[no-untyped-def]
    response = post(client, "product-feedback", ANSWERS, Accept="text/html")
    assert response.status_code == 303, response.body
    [stored] = list(services.store.list("product-feedback"))
    assert stored.answers == {
        "name": "Ann", "email": "ann@example.com", "orders": 12, "purchased": "2026-10-01", "product": "app",
        "plan": "plus", "features": ["search", "returns"], "satisfaction": 4, "nps": 3,
        "agreement": {"easy": 5, "fast": 2, "value": 3}, "improve": "Faster delivery", "kind": "complaint",
        "consent": True,
    }
    assert stored.feedback_kind == "complaint"


def test_hidden_question_is_not_required_and_its_answer_is_dropped(client, services):  # type: ignore[no-untyped-def]
    fields = [(k, "9" if k == "nps" else v) for k, v in ANSWERS if k != "improve"] + [("improve", "ignored")]
    response = post(client, "product-feedback", fields, Accept="application/json")
    assert response.status_code == 201, response.body
    stored = services.store.get("product-feedback", response.json_body["id"])
    assert "improve" not in stored.answers


def test_422_page_keeps_answers_and_shows_each_error_beside_its_question(client, services):  # type: ignore[no-untyped-def]
    fields = [(k, v) for k, v in ANSWERS if k not in ("agreement.easy", "improve", "consent")]
    fields = [(k, "4" if k == "orders" else v) for k, v in fields] + [("features", "tracking"), ("purchased", "x")]
    fields = [(k, v) for k, v in fields if not (k == "purchased" and v == "2026-10-01")]
    response = post(client, "product-feedback", fields, Accept="text/html", **{"Accept-Language": "ru"})
    assert response.status_code == 422
    page = response.body.decode()
    assert '<html lang="ru">' in page
    for question in ("agreement", "improve", "consent", "features", "purchased"):
        assert f'id="q-{question}-error"' in page, question
    # Each error sits inside its question's own block, after its inputs.
    agreement = page[page.index('id="q-agreement"'):page.index('id="q-improve"')]
    assert 'id="q-agreement-error"' in agreement and "easy" in agreement
    assert 'name="agreement.fast" value="2" checked' in page
    assert 'name="features" value="search" checked' in page and 'name="features" value="tracking" checked' in page
    assert 'name="nps" value="3" checked' in page
    assert 'value="x"' in page  # the bad date is kept for the visitor to correct
    assert services.store.count("product-feedback") == 0


def test_422_json_points_at_the_matrix_row(client, services):  # type: ignore[no-untyped-def]
    fields = [(k, v) for k, v in ANSWERS if k != "agreement.value"] + [("agreement.colour", "3")]
    response = post(client, "product-feedback", fields, Accept="application/json")
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json_body["errors"]}
    assert errors == {"agreement/value": "is required.", "agreement/colour": "is not a field of this form."}
    assert services.store.count("product-feedback") == 0


def test_page_works_without_javascript_and_script_only_toggles(client):  # type: ignore[no-untyped-def]
    page = client.http.get("/f/product-feedback").body.decode()
    # The conditional question is in the page (shown when scripts are off) and not marked required.
    improve = page[page.index('id="q-improve"'):page.index('id="q-kind"')]
    assert "data-visible-if" in improve and " required" not in improve.split("<textarea")[1].split(">")[0]
    assert 'name="_gotcha"' in page
    assert "<script src" not in page
