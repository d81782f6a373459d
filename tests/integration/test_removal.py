"""DELETE /admin/forms/{form}/submissions/{id}: the submission goes, and so does what was derived from it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from .admin_support import AUTH
from .test_results import KNOWN, post_all

FORM = "product-feedback"  # one response per address, results with free texts


def test_deleting_a_submission_takes_it_out_of_everything(client, services, admin):  # type: ignore[no-untyped-def]
    stored = post_all(client, services)
    doomed = next(s for s in stored if s.answers.get("improve") == "Checkout keeps failing")
    deliveries = services.delivery.store
    now = datetime.now(UTC)
    owed = deliveries.ensure(FORM, doomed.id, "notification", ["team@example.com"], now)
    deliveries.postpone(owed, now, now + timedelta(minutes=1), "421 try again later")  # an email still owed

    response = client.http.delete(f"/admin/forms/{FORM}/submissions/{doomed.id}", headers=AUTH)
    assert response.status_code == 204, response.body

    assert client.http.get(f"/admin/forms/{FORM}/submissions/{doomed.id}", headers=AUTH).status_code == 404
    assert [s.id for s in services.store.list(FORM)] == [s.id for s in reversed(stored) if s.id != doomed.id]
    results = client.http.get(f"/admin/forms/{FORM}/results", headers=AUTH).json_body
    assert results["total"] == 4 and results["byKind"] == {"praise": 2, "idea": 1, "complaint": 1}
    questions = {q["name"]: q for q in results["questions"]}
    assert questions["nps"]["nps"] == {"score": 25, "promoters": 2, "passives": 1, "detractors": 1}
    assert "Checkout keeps failing" not in json.dumps(questions["improve"])
    assert deliveries.for_submission(FORM, doomed.id) == []
    assert deliveries.due(now + timedelta(days=1), 10) == []
    # Its address may answer again (the survey takes one response per address).
    again = client.http.post(f"/f/{FORM}", body=json.dumps(KNOWN[3]), headers={"Content-Type": "application/json"})
    assert again.status_code == 201, again.body


def test_a_second_delete_is_404_and_takes_nothing_more(client, services, admin):  # type: ignore[no-untyped-def]
    stored = post_all(client, services)
    path = f"/admin/forms/{FORM}/submissions/{stored[0].id}"
    assert client.http.delete(path, headers=AUTH).status_code == 204
    assert client.http.delete(path, headers=AUTH).status_code == 404
    assert client.http.get(f"/admin/forms/{FORM}/results", headers=AUTH).json_body["total"] == 4
    # The answers of the others still block their addresses.
    second = client.http.post(f"/f/{FORM}", body=json.dumps(KNOWN[1]), headers={"Content-Type": "application/json"})
    assert second.status_code == 409


def test_deleting_a_response_frees_its_place_in_a_full_survey(services):  # type: ignore[no-untyped-def]
    import dataclasses

    import pytest

    from chalicelib.intake.service import SubmitRequest
    from chalicelib.intake.surveys import SurveyFullError
    from chalicelib.privacy.removal import SubmissionRemoval

    definition = services.forms.get(FORM)
    one_place = dataclasses.replace(definition, settings={**definition.settings, "maxResponses": 1})
    forms = type("OnePlace", (), {"get": staticmethod(lambda form_id: one_place if form_id == FORM else None),
                                  "require": staticmethod(lambda form_id: one_place)})()

    def respond(answers: dict[str, object]) -> str:
        request = SubmitRequest(FORM, json.dumps(answers).encode(), {"content-type": "application/json"})
        return str(services.submissions.submit(request).submission_id)

    original, services.submissions.forms = services.submissions.forms, forms
    try:
        first = respond(KNOWN[0])
        with pytest.raises(SurveyFullError):
            respond(KNOWN[1])
        SubmissionRemoval(forms, services.store, services.surveys).delete(FORM, first)  # type: ignore[arg-type]
        assert services.surveys.store.responses(FORM) == 0
        respond(KNOWN[1])
        assert services.surveys.store.responses(FORM) == 1
    finally:
        services.submissions.forms = original


def test_deleting_needs_the_key_and_an_existing_submission(client, services, admin):  # type: ignore[no-untyped-def]
    stored = post_all(client, services)
    path = f"/admin/forms/{FORM}/submissions/{stored[0].id}"
    assert client.http.delete(path).status_code == 401
    assert client.http.delete(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    for missing in (f"/admin/forms/{FORM}/submissions/01JB0000000000000000000000",
                    f"/admin/forms/{FORM}/submissions/not-an-id", f"/admin/forms/nope/submissions/{stored[0].id}"):
        assert client.http.delete(missing, headers=AUTH).status_code == 404, missing
    assert len(list(services.store.list(FORM))) == len(KNOWN)


def _post_contact(client, email: str, reply_to: str | None = None):  # type: ignore[no-untyped-def]
    body = {"name": "Ann", "email": email, "topic": "idea", "message": "Hello", "consent": True}
    if reply_to:
        body["_replyto"] = reply_to
    response = client.http.post("/f/contact", body=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return response.json_body["id"]


def test_everything_about_an_address_is_exported_then_erased(client, services, admin):  # type: ignore[no-untyped-def]
    stored = post_all(client, services)  # r1@ ... r5@example.com answered product-feedback
    ann = [_post_contact(client, "ann@example.com"), _post_contact(client, " ANN@Example.com "),
           _post_contact(client, "carol@example.com", reply_to="ann@example.com")]
    other = _post_contact(client, "bob@example.com")
    headers = {**AUTH, "Content-Type": "application/json"}

    export = client.http.post("/admin/addresses/export", headers=headers,
                              body=json.dumps({"email": "Ann@example.com"}))
    assert export.status_code == 200, export.body
    assert export.json_body["cursor"] is None
    assert sorted(s["id"] for s in export.json_body["submissions"]) == sorted(ann)
    assert all(s["answers"]["message"] == "Hello" for s in export.json_body["submissions"])

    erase = client.http.post("/admin/addresses/erase", headers=headers, body=json.dumps({"email": "ann@example.com"}))
    assert erase.status_code == 200, erase.body
    assert sorted(erase.json_body["erased"]) == sorted(f"contact/{i}" for i in ann)
    assert [s.id for s in services.store.list("contact")] == [other]
    assert len(list(services.store.list(FORM))) == len(stored)
    again = client.http.post("/admin/addresses/export", headers=headers, body=json.dumps({"email": "ann@example.com"}))
    assert again.json_body["submissions"] == []


def test_a_long_table_is_read_a_slice_per_call(client, services, admin):  # type: ignore[no-untyped-def]
    from chalicelib.privacy import erasure
    from chalicelib.privacy.erasure import AddressRequests
    from chalicelib.privacy.removal import SubmissionRemoval

    ids = {_post_contact(client, "ann@example.com") for _ in range(5)}
    _post_contact(client, "bob@example.com")
    requests = AddressRequests(services.store, SubmissionRemoval(services.forms, services.store, services.surveys),
                               budget_seconds=0)  # every call stops after one page
    original, erasure.PAGE = erasure.PAGE, 2
    try:
        erased: list[str] = []
        cursor = None
        calls = 0
        while True:
            answer = requests.erase("ann@example.com", cursor)
            erased += answer["erased"]
            calls += 1
            cursor = answer["cursor"]
            if cursor is None:
                break
    finally:
        erasure.PAGE = original
    assert sorted(erased) == sorted(f"contact/{i}" for i in ids) and calls >= 3
    assert [s.answers["email"] for s in services.store.list("contact")] == ["bob@example.com"]


def test_address_requests_refuse_what_they_cannot_use(client, services, admin):  # type: ignore[no-untyped-def]
    headers = {**AUTH, "Content-Type": "application/json"}
    for body in ({}, {"email": "not an address"}, {"email": "ann@example.com", "cursor": "bogus"}):
        response = client.http.post("/admin/addresses/erase", headers=headers, body=json.dumps(body))
        assert response.status_code == 400, (body, response.body)
    assert client.http.post("/admin/addresses/erase", body=json.dumps({"email": "ann@example.com"}),
                            headers={"Content-Type": "application/json"}).status_code == 401
