"""Per-client hourly limits: 429 with Retry-After past the form's perIpPerHour, nothing stored."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from ulid import ULID

from chalicelib.core.errors import RateLimitedError
from chalicelib.core.submission import Submission

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


def test_limit_is_per_client_and_per_window(services) -> None:  # type: ignore[no-untyped-def]
    limiter = services.submissions.limiter
    definition = services.forms.get("contact")
    limit = definition.settings["spam"]["perIpPerHour"]

    def store(client_ip_hash: str, at: datetime) -> None:
        submission = Submission(form="contact", id=str(ULID()), created_at=at, status="received", answers={})
        services.store.put(submission, admissions=[limiter.reserve(definition, client_ip_hash, at)])

    # A window in the future: DynamoDB Local's TTL sweep would delete counters of a past hour mid-test.
    now = (datetime.now(timezone.utc) + timedelta(days=1)).replace(minute=59, second=30, microsecond=0)
    for _ in range(limit):
        store("client-a", now)
    with pytest.raises(RateLimitedError) as caught:
        store("client-a", now)
    assert caught.value.retry_after == 30  # until the window ends
    store("client-b", now)  # another client is not affected
    store("client-a", now + timedelta(minutes=1))  # a new hour starts afresh
    assert services.store.count("contact") == limit + 2


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
