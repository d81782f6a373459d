"""The respondent's language end to end (chalice.test.Client -> app.py -> DynamoDB Local): through the redirect
to the thanks page, on the form shown again after a mistake and on error pages."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

FORM = "application/x-www-form-urlencoded"
SURVEY = {"nps": "9", "csat": "5", "email": "ann@example.com", "reason": "Nothing"}


def post(client, form, fields, **headers):  # type: ignore[no-untyped-def]
    return client.http.post(f"/f/{form}", headers={"Content-Type": FORM, "Accept": "text/html", **headers},
                            body=urlencode(fields, doseq=True))


@pytest.mark.parametrize(("language", "thanks"), [
    ("ru", "Спасибо за ответы!"), ("fr", "Merci pour vos réponses !"), ("vi", "Cảm ơn bạn đã trả lời!"),
    ("hi", "आपके उत्तरों के लिए धन्यवाद!")])
def test_the_language_chosen_on_the_page_reaches_the_thanks_page(client, language, thanks):  # type: ignore[no-untyped-def]
    response = post(client, "customer-survey", {**SURVEY, "_language": language}, **{"Accept-Language": "en-GB"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"customer-survey/thanks?lang={language}"
    page = client.http.get(f"/f/{response.headers['Location']}", headers={"Accept-Language": "en-GB"})
    assert page.status_code == 200 and thanks in page.body.decode() and f'lang="{language}"' in page.body.decode()


def test_a_mistake_comes_back_in_the_chosen_language_with_no_english_glue(client, services):  # type: ignore[no-untyped-def]
    response = post(client, "contact", {"email": "nope", "_language": "ru"}, **{"Accept-Language": "en"})
    assert response.status_code == 422
    page = response.body.decode()
    assert 'lang="ru"' in page and "Пожалуйста, исправьте" in page and "Ваше имя: обязательный вопрос." in page
    assert "is required" not in page and "must be" not in page
    assert list(services.store.list("contact")) == []


def test_a_script_still_reads_the_english_messages(client):  # type: ignore[no-untyped-def]
    response = client.http.post("/f/contact", headers={"Content-Type": FORM, "Accept": "application/json"},
                                body=urlencode({"email": "nope", "_language": "ru"}))
    assert response.status_code == 422
    assert {"pointer": "/name", "field": "name", "message": "is required."} in json.loads(response.body)["errors"]


def test_error_pages_speak_the_browsers_language(client):  # type: ignore[no-untyped-def]
    missing = client.http.get("/f/no-such-form", headers={"Accept": "text/html", "Accept-Language": "fr-FR,fr"})
    assert missing.status_code == 404
    assert "<h1>Introuvable</h1>" in missing.body.decode() and 'lang="fr"' in missing.body.decode()
    too_big = post(client, "customer-survey?lang=hi", {"reason": "x" * 70_000})
    assert too_big.status_code == 413
    assert "<h1>सामग्री बहुत बड़ी है</h1>" in too_big.body.decode()
