"""Per-client hourly limits: 429 with Retry-After past the form's perIpPerHour, nothing stored."""
from __future__ import annotations

import json

CONTACT = {"name": "Ann", "email": "ann@example.com", "topic": "question", "message": "Hi", "consent": True}


def _post(client):  # type: ignore[no-untyped-def]
    # chalice.test.Client gives every request the same sourceIp: one client.
    return client.http.post("/f/contact", headers={"Content-Type": "application/json"}, body=json.dumps(CONTACT))


def test_limit_per_client_per_hour(client, services) -> None:  # type: ignore[no-untyped-def]
    limit = services.forms.get("contact").settings["spam"]["perIpPerHour"]
    responses = [_post(client) for _ in range(limit + 2)]
    assert [r.status_code for r in responses[:limit]] == [201] * limit
    for refused in responses[limit:]:
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert "try again" in refused.json_body["detail"]
    assert services.store.count("contact") == limit


# Per client and per window (the hour in the key): tests/unit/services/submit_behaviour.py, on both stores.


def test_a_retry_past_the_limit_still_gets_its_first_result(client, services) -> None:  # type: ignore[no-untyped-def]
    limit = services.forms.get("contact").settings["spam"]["perIpPerHour"]
    first = client.http.post("/f/contact", headers={"Content-Type": "application/json", "Idempotency-Key": "k-1"},
                             body=json.dumps(CONTACT))
    assert first.status_code == 201
    for _ in range(limit - 1):
        assert _post(client).status_code == 201
    assert _post(client).status_code == 429
    again = client.http.post("/f/contact", headers={"Content-Type": "application/json", "Idempotency-Key": "k-1"},
                             body=json.dumps(CONTACT))
    assert again.status_code == 200 and again.json_body["id"] == first.json_body["id"]
    assert services.store.count("contact") == limit
