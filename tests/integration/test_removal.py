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

    from chalicelib.removal import SubmissionRemoval
    from chalicelib.submissions import SubmitRequest
    from chalicelib.surveys import SurveyFullError

    definition = services.forms.get(FORM)
    one_place = dataclasses.replace(definition, settings={**definition.settings, "maxResponses": 1})
    forms = type("OnePlace", (), {"get": staticmethod(lambda form_id: one_place if form_id == FORM else None)})()

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
