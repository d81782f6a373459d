"""The hosted survey page and survey posts, end to end through app.py and DynamoDB Local."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

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
    fallback = client.http.get("/f/product-feedback?lang=de", headers={"Accept-Language": "ja"})
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


# Survey settings: each test runs the app over a copy of forms/ whose product-feedback has the settings.


JSON_ANSWERS: dict[str, Any] = {
    "email": "ann@example.com", "product": "app", "satisfaction": 4, "nps": 9,
    "agreement": {"easy": 5, "fast": 2, "value": 3}, "consent": True,
}


@pytest.fixture
def survey(services, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A function that returns a test client over product-feedback with the given x-form settings."""
    from chalice.test import Client

    import app as app_module
    from chalicelib.wiring import build_services
    opened: list[Any] = []

    def make(**settings: Any) -> Any:
        shutil.copytree(services.settings.forms_dir, tmp_path, dirs_exist_ok=True)
        path = tmp_path / "product-feedback.json"
        definition = json.loads(path.read_text())
        definition["x-form"].update(settings)
        path.write_text(json.dumps(definition))
        app_module.use_services(build_services(replace(services.settings, forms_dir=Path(tmp_path))))
        client = Client(app_module.app, stage_name="local", project_dir=str(Path(__file__).parents[2]))
        opened.append(client.__enter__())
        return opened[-1]

    yield make
    for client in opened:
        client.__exit__(None, None, None)
    app_module.use_services(None)


def post_json(client, body, **headers):  # type: ignore[no-untyped-def]
    return client.http.post("/f/product-feedback", body=json.dumps(body),
                            headers={"Content-Type": "application/json", **headers})


def test_closed_survey_refuses_page_and_posts_storing_nothing(survey, services):  # type: ignore[no-untyped-def]
    client = survey(closes="2020-01-01T00:00:00Z")
    page = client.http.get("/f/product-feedback")
    assert page.status_code == 403 and "closed on 1 January 2020" in page.body.decode()
    api = post_json(client, JSON_ANSWERS)
    assert api.status_code == 403 and "closed" in api.json_body["detail"]
    browser = post(client, "product-feedback", ANSWERS, Accept="text/html")
    assert browser.status_code == 403 and "closed" in browser.body.decode()
    assert services.store.count("product-feedback") == 0


def test_survey_not_open_yet(survey, services):  # type: ignore[no-untyped-def]
    client = survey(opens="2999-05-01T09:00:00Z")
    assert client.http.get("/f/product-feedback").status_code == 403
    response = post_json(client, JSON_ANSWERS)
    assert response.status_code == 403 and "opens on 1 May 2999" in response.json_body["detail"]
    assert services.store.count("product-feedback") == 0


def test_open_window_admits(survey, services):  # type: ignore[no-untyped-def]
    client = survey(opens="2020-01-01T00:00:00Z", closes="2999-01-01T00:00:00+02:00")
    assert client.http.get("/f/product-feedback").status_code == 200
    assert post_json(client, JSON_ANSWERS).status_code == 201


def test_full_survey_stores_nothing_more(survey, services):  # type: ignore[no-untyped-def]
    client = survey(maxResponses=2, onePerEmail=False)
    for n in range(2):
        assert post_json(client, {**JSON_ANSWERS, "email": f"r{n}@example.com"}).status_code == 201
    full = post_json(client, {**JSON_ANSWERS, "email": "late@example.com"})
    assert full.status_code == 403 and "all the responses" in full.json_body["detail"]
    assert client.http.get("/f/product-feedback").status_code == 403
    assert services.store.count("product-feedback") == 2


def test_a_replayed_post_does_not_use_up_a_place(survey, services):  # type: ignore[no-untyped-def]
    client = survey(maxResponses=2)
    first = post_json(client, JSON_ANSWERS, **{"Idempotency-Key": "k1"})
    again = post_json(client, JSON_ANSWERS, **{"Idempotency-Key": "k1"})  # a double click: same key, same body
    assert (first.status_code, again.status_code) == (201, 200)
    assert post_json(client, {**JSON_ANSWERS, "email": "bob@example.com"}).status_code == 201
    assert services.store.count("product-feedback") == 2


def test_invalid_answers_do_not_use_up_a_place(survey, services):  # type: ignore[no-untyped-def]
    client = survey(maxResponses=1)
    assert post_json(client, {**JSON_ANSWERS, "nps": 11}).status_code == 422
    assert post_json(client, JSON_ANSWERS).status_code == 201


def test_one_response_per_email(survey, services):  # type: ignore[no-untyped-def]
    client = survey(onePerEmail=True)
    assert post_json(client, JSON_ANSWERS).status_code == 201
    second = post_json(client, {**JSON_ANSWERS, "email": " ANN@Example.com", "nps": 2, "improve": "x"})
    assert second.status_code == 409 and "already answered" in second.json_body["detail"]
    browser = post(client, "product-feedback", ANSWERS, Accept="text/html")
    assert browser.status_code == 409
    assert services.store.count("product-feedback") == 1
    assert post_json(client, {**JSON_ANSWERS, "email": "bob@example.com"}).status_code == 201


def test_a_refused_replay_keeps_the_address_marked(survey, services):  # type: ignore[no-untyped-def]
    client = survey(onePerEmail=True, maxResponses=5)
    assert post_json(client, JSON_ANSWERS, **{"Idempotency-Key": "k1"}).status_code == 201
    changed = post_json(client, {**JSON_ANSWERS, "nps": 10}, **{"Idempotency-Key": "k1"})
    assert changed.status_code == 422  # the key was used for a different body
    assert post_json(client, JSON_ANSWERS, **{"Idempotency-Key": "k2"}).status_code == 409
    assert services.store.count("product-feedback") == 1


def test_an_admitted_response_is_one_write_request(survey, services):  # type: ignore[no-untyped-def]
    from chalicelib.storage.base import botocore_client
    client = survey(onePerEmail=True, maxResponses=5)
    sent: list[str] = []
    shared = botocore_client(services.store.submissions)

    def record(event_name: str, **_: Any) -> None:
        sent.append(event_name.rsplit(".", 1)[-1])

    shared.meta.events.register("before-send.dynamodb.*", record)
    try:
        assert post_json(client, JSON_ANSWERS).status_code == 201
        assert post_json(client, JSON_ANSWERS).status_code == 409  # refused by the same one request
    finally:
        shared.meta.events.unregister("before-send.dynamodb.*", record)
    # Address marker, response count and submission together; nothing written before or undone after.
    assert sent == ["TransactWriteItems", "TransactWriteItems"]
    assert services.surveys.store.responses("product-feedback") == 1


def test_spam_neither_counts_nor_blocks_the_address(survey, services):  # type: ignore[no-untyped-def]
    client = survey(onePerEmail=True, maxResponses=1)
    assert post_json(client, {**JSON_ANSWERS, "_gotcha": "bot"}).status_code == 201  # looks like success
    assert post_json(client, JSON_ANSWERS).status_code == 201
    assert [s.status for s in services.store.list("product-feedback")].count("received") == 1


@pytest.mark.parametrize(("settings", "message"), [
    ({"closes": "2026-01-01"}, "time zone"),
    ({"opens": "2026-02-01T00:00:00Z", "closes": "2026-01-01T00:00:00Z"}, "later than opens"),
])
def test_bad_survey_settings_are_definition_errors(settings, message) -> None:  # type: ignore[no-untyped-def]
    from chalicelib.core.errors import DefinitionError
    from chalicelib.forms.definitions import compile_definition
    definition = json.loads((Path(__file__).parents[2] / "forms" / "product-feedback.json").read_text())
    definition["x-form"].update(settings)
    with pytest.raises(DefinitionError, match=message):
        compile_definition("product-feedback", definition, "product-feedback.json")


def test_one_per_email_needs_the_address_question() -> None:
    from chalicelib.core.errors import DefinitionError
    from chalicelib.forms.definitions import compile_definition
    definition = json.loads((Path(__file__).parents[2] / "forms" / "product-feedback.json").read_text())
    del definition["x-form"]["respondentEmail"]
    with pytest.raises(DefinitionError, match="respondentEmail"):
        compile_definition("product-feedback", definition, "product-feedback.json")
