"""The webhook admin routes through the Chalice app, over DynamoDB Local, against a real local receiver."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.forms.definitions import FormRegistry
from chalicelib.webhooks.service import WebhookService
from tests.integration.admin_support import AUTH
from tests.unit.webhooks.receiver import Answer, Receiver
from tests.unit.webhooks.support import Clock, contact, webhook_settings, write_form

JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture
def webhooks(services: Any, admin: None, receiver: Receiver, tmp_path: Path) -> Iterator[WebhookService]:
    """The session's webhook store, with the contact form naming the test receiver as `crm`."""
    write_form(tmp_path / "forms", [{"name": "crm", "url": receiver.url, "events": ["submission.received"]}])
    settings = webhook_settings(tmp_path / "forms")
    original = services.webhooks
    services.webhooks = WebhookService(settings, FormRegistry(settings.forms_dir), original.store, clock=Clock())
    yield services.webhooks
    services.webhooks = original


def test_admin_routes_need_the_admin_key(client: Any, webhooks: WebhookService) -> None:
    assert client.http.get("/admin/forms/contact/webhooks").status_code == 401
    assert client.http.post("/admin/forms/contact/webhooks/crm/replay", body=b"{}",
                            headers={"Content-Type": "application/json"}).status_code == 401


def test_list_then_retry_a_failed_delivery(client: Any, webhooks: WebhookService, receiver: Receiver) -> None:
    receiver.answer(Answer(400, body=b"missing field"))
    webhooks(contact(webhooks.clock))  # type: ignore[arg-type]
    listed = client.http.get("/admin/forms/contact/webhooks", headers=AUTH)
    assert listed.status_code == 200
    [delivery] = json.loads(listed.body)["deliveries"]
    assert (delivery["status"], delivery["lastError"], delivery["attempts"]) == ("failed", "HTTP 400: missing field", 1)
    retried = client.http.post(f"/admin/forms/contact/webhooks/crm/events/{delivery['event']}/retry",
                               body=b"{}", headers=JSON)
    assert retried.status_code == 200
    assert json.loads(retried.body)["status"] == "delivered"
    assert receiver.webhook_ids == [delivery["webhookId"]] * 2


def test_replay_queues_events_since_a_time(client: Any, webhooks: WebhookService, receiver: Receiver) -> None:
    for _ in range(2):
        webhooks(contact(webhooks.clock))  # type: ignore[arg-type]
    since = webhooks.clock().isoformat().replace("+00:00", "Z")
    answer = client.http.post("/admin/forms/contact/webhooks/crm/replay", body=json.dumps({"since": since}),
                              headers=JSON)
    assert answer.status_code == 202
    assert json.loads(answer.body) == {"form": "contact", "target": "crm", "queued": 2, "next": None}
    webhooks.clock.advance(1)  # type: ignore[attr-defined]
    assert webhooks.retry_due() == 2
    assert len(receiver.requests) == 4


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), [
    ("GET", "/admin/forms/contact/webhooks?limit=0", None, 400, "limit must be a whole number"),
    ("GET", "/admin/forms/contact/webhooks?limit=abc", None, 400, "limit must be a whole number"),
    ("GET", "/admin/forms/nope/webhooks", None, 404, "There is no form"),
    ("POST", "/admin/forms/contact/webhooks/crm/replay", {}, 400, "Send `since`"),
    ("POST", "/admin/forms/contact/webhooks/crm/replay", {"since": "yesterday"}, 400, "not a date-time"),
    ("POST", "/admin/forms/contact/webhooks/crm/replay", {"since": "2026-12-01T00:00:00"}, 400, "time zone"),
    ("POST", "/admin/forms/contact/webhooks/chat/replay", {"since": "2026-12-01T00:00:00Z"}, 404, "no webhook"),
    ("POST", "/admin/forms/contact/webhooks/crm/events/123/retry", {}, 404, "no webhook event"),
    ("POST", "/admin/forms/contact/webhooks/crm/events/1796259570000aaaaaaaaaaaaaaaa/retry", {}, 404,
     "no webhook delivery"),
])
def test_bad_admin_requests_get_a_specific_4xx(client: Any, webhooks: WebhookService, method: str, path: str,
                                              body: Any, status: int, words: str) -> None:
    if method == "GET":
        answer = client.http.get(path, headers={**AUTH, "Accept": "application/json"})
    else:
        answer = client.http.post(path, body=json.dumps(body), headers=JSON)
    assert answer.status_code == status
    assert words in json.loads(answer.body)["detail"]
