"""The submit path end to end: chalice.test.Client -> app.py -> DynamoDB Local."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

FORM = "application/x-www-form-urlencoded"
CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "complaint", "message": "Parcel arrived broken",
           "consent": "on"}


def post_form(client, form, fields, **headers):  # type: ignore[no-untyped-def]
    body = urlencode(fields, doseq=True)
    return client.http.post(f"/f/{form}", headers={"Content-Type": FORM, **headers}, body=body)


def post_json(client, form, payload, **headers):  # type: ignore[no-untyped-def]
    return client.http.post(f"/f/{form}", headers={"Content-Type": "application/json", **headers},
                            body=json.dumps(payload))


def multipart(fields: list[tuple[str, str]], boundary: str = "formloopboundary") -> tuple[str, bytes]:
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    return f"multipart/form-data; boundary={boundary}", ("".join(parts) + f"--{boundary}--\r\n").encode()


def test_browser_post_is_stored_and_redirected_to_thanks(client, services):  # type: ignore[no-untyped-def]
    response = post_form(client, "contact", CONTACT, **{"User-Agent": "Firefox", "Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["Location"] == "contact/thanks"
    [stored] = list(services.store.list("contact"))
    assert stored.answers == {"name": "Ann Lee", "email": "ann@example.com", "topic": "complaint",
                              "message": "Parcel arrived broken", "consent": True}
    assert stored.status == "received"
    assert stored.feedback_kind == "complaint"
    assert stored.respondent_email == "ann@example.com"
    assert stored.user_agent == "Firefox"
    assert stored.language == "en"
    thanks = client.http.get("/f/contact/thanks")
    assert thanks.status_code == 200 and b"Thank you" in thanks.body


def test_json_post_gets_201_with_id(client, services):  # type: ignore[no-untyped-def]
    response = post_json(client, "contact", {**CONTACT, "consent": True, "phone": "+1 555 0100"})
    assert response.status_code == 201
    body = response.json_body
    assert body["form"] == "contact" and body["status"] == "received"
    stored = services.store.get("contact", body["id"])
    assert stored is not None and stored.answers["phone"] == "+1 555 0100"


def test_multipart_text_parts_are_accepted(client, services):  # type: ignore[no-untyped-def]
    content_type, body = multipart(list(CONTACT.items()))
    response = client.http.post("/f/contact", headers={"Content-Type": content_type, "Accept": "application/json"},
                                body=body)
    assert response.status_code == 201, response.body
    assert services.store.count("contact") == 1


def test_multipart_file_part_is_refused(client, services):  # type: ignore[no-untyped-def]
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnn\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
            f'Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--{boundary}--\r\n').encode()
    response = client.http.post("/f/contact", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"})
    assert response.status_code == 415
    assert "File uploads" in response.json_body["detail"]
    assert services.store.count("contact") == 0


def test_survey_coercion_repeated_keys_and_brackets(client, services):  # type: ignore[no-untyped-def]
    body = "nps=%209%20&features[]=prices&features[]=support&csat=4&email=bob%40example.com&reason="
    response = client.http.post("/f/customer-survey", headers={"Content-Type": FORM, "Accept": "application/json"},
                                body=body)
    assert response.status_code == 201, response.body
    [stored] = list(services.store.list("customer-survey"))
    assert stored.answers == {"nps": 9, "features": ["prices", "support"], "csat": 4, "email": "bob@example.com"}


def test_conditional_question_required_only_when_shown(client, services):  # type: ignore[no-untyped-def]
    low = post_json(client, "customer-survey", {"nps": 3, "email": "c@example.com"})
    assert low.status_code == 422
    assert [e["field"] for e in low.json_body["errors"]] == ["reason"]
    high = post_json(client, "customer-survey", {"nps": 10, "email": "c@example.com", "reason": "hidden answer"})
    assert high.status_code == 201
    stored = services.store.get("customer-survey", high.json_body["id"])
    assert "reason" not in stored.answers  # answers to hidden questions are dropped


def test_422_problem_lists_every_error(client, services):  # type: ignore[no-untyped-def]
    response = post_json(client, "contact", {"name": "", "email": "not-an-email", "topic": "rant", "consent": False})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json_body
    assert problem["status"] == 422
    fields = {e["field"]: e for e in problem["errors"]}
    assert set(fields) == {"name", "email", "topic", "message", "consent"}
    assert fields["email"]["pointer"] == "/email"
    assert "email address" in fields["email"]["message"]
    assert services.store.count("contact") == 0


def test_422_html_keeps_input_and_shows_errors(client, services):  # type: ignore[no-untyped-def]
    response = post_form(client, "contact", {"name": "Ann <b>", "email": "nope", "topic": "idea", "message": "Hi"},
                         Accept="text/html")
    assert response.status_code == 422
    page = response.body.decode()
    assert 'value="Ann &lt;b&gt;"' in page  # kept, and escaped
    assert 'id="q-email-error"' in page and "email address" in page
    assert 'aria-describedby="q-email-help q-email-error"' in page
    assert '<option value="idea" selected>' in page
    assert services.store.count("contact") == 0


def test_control_fields_are_honoured_not_stored(client, services):  # type: ignore[no-untyped-def]
    fields = {**CONTACT, "_subject": "Website contact", "_replyto": "reply@example.com", "_language": "ru",
              "_next": "/merci", "_utm": "x"}
    response = post_form(client, "contact", fields)
    assert response.status_code == 303
    assert response.headers["Location"] == "/merci"
    [stored] = list(services.store.list("contact"))
    assert not any(k.startswith("_") for k in stored.answers)
    assert stored.subject == "Website contact" and stored.reply_to == "reply@example.com"
    assert stored.language == "ru"


@pytest.mark.parametrize("next_url", ["https://evil.example.net/phish", "//evil.example.net", "javascript:alert(1)"])
def test_next_outside_allowed_origins_falls_back(client, services, next_url):  # type: ignore[no-untyped-def]
    response = post_form(client, "contact", {**CONTACT, "_next": next_url})
    assert response.status_code == 303
    assert response.headers["Location"] == "contact/thanks"


def test_honeypot_looks_like_success_and_is_kept_as_spam(client, services):  # type: ignore[no-untyped-def]
    response = post_json(client, "contact", {**CONTACT, "_gotcha": "http://spam.example"})
    assert response.status_code == 201
    assert response.json_body["status"] == "received"
    [stored] = list(services.store.list("contact"))
    assert stored.status == "spam"


def test_idempotency_key_same_body_returns_first_result(client, services):  # type: ignore[no-untyped-def]
    first = post_json(client, "contact", {**CONTACT, "consent": True}, **{"Idempotency-Key": "abc-1"})
    again = post_json(client, "contact", {**CONTACT, "consent": True}, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json_body["id"] == again.json_body["id"]
    assert services.store.count("contact") == 1


def test_idempotency_hidden_field_for_plain_forms(client, services):  # type: ignore[no-untyped-def]
    fields = {**CONTACT, "_idempotency": "tok-42"}
    assert post_form(client, "contact", fields).status_code == 303
    assert post_form(client, "contact", fields).status_code == 303  # double click
    assert services.store.count("contact") == 1


def test_idempotency_key_with_different_body_is_422(client, services):  # type: ignore[no-untyped-def]
    post_json(client, "contact", {**CONTACT, "consent": True}, **{"Idempotency-Key": "k"})
    other = post_json(client, "contact", {**CONTACT, "consent": True, "message": "changed"}, **{"Idempotency-Key": "k"})
    assert other.status_code == 422
    assert "different submission" in other.json_body["detail"]
    assert services.store.count("contact") == 1


def test_unknown_form_is_404(client):  # type: ignore[no-untyped-def]
    assert post_json(client, "no-such-form", {"a": 1}).status_code == 404
    assert client.http.get("/f/no-such-form").status_code == 404
    assert client.http.get("/f/no-such-form/schema").status_code == 404


def test_wrong_method_is_405(client):  # type: ignore[no-untyped-def]
    response = client.http.delete("/f/contact")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_public_schema_hides_internal_settings(client):  # type: ignore[no-untyped-def]
    response = client.http.get("/f/contact/schema")
    assert response.status_code == 200
    text = response.body.decode()
    schema = json.loads(text)
    assert schema["properties"]["email"]["format"] == "email"
    assert "team@example.com" not in text and "notify" not in schema["x-form"]
    assert "spam" not in schema["x-form"]


def test_cors_only_for_allowed_origins(client, services, shop_only_contact):  # type: ignore[no-untyped-def]
    ok = post_json(client, "contact", {**CONTACT, "consent": True}, Origin="https://shop.example.com")
    assert ok.status_code == 201
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    refused = post_json(client, "contact", {**CONTACT, "consent": True}, Origin="https://evil.example.net")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.http.options("/f/contact", headers={"Origin": "https://shop.example.com"})
    assert preflight.status_code == 204
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    allowed_next = post_form(client, "contact", {**CONTACT, "_next": "https://shop.example.com/thanks"},
                             Origin="https://shop.example.com")
    assert allowed_next.headers["Location"] == "https://shop.example.com/thanks"
    assert services.store.count("contact") == 2


def test_form_page_renders(client):  # type: ignore[no-untyped-def]
    response = client.http.get("/f/customer-survey?lang=ru")
    assert response.status_code == 200
    page = response.body.decode()
    assert '<html lang="ru">' in page and "Как мы справились?" in page
    assert page.count('name="nps"') == 11
