"""`case.replied` and `case.resolved` end to end, as the owner meets them: an idea posted to a form whose webhook
target is a real local receiver, then the case page's reply and decision (signed in, CSRF token) on DynamoDB
Local; the receiver gets one signed event per action, and a repeated post of the same page changes and sends
nothing more."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.cases.model import ANSWERED, RESOLVED
from chalicelib.forms.definitions import FormRegistry
from chalicelib.jobs import dispatch
from chalicelib.mail.transport import OutboxMailer
from chalicelib.webhooks.service import WebhookService
from chalicelib.wiring import MemoryStores
from tests.integration.test_dashboard import FORM, _csrf, _h, post_contact, session_cookie
from tests.integration.test_dashboard import ann as ann  # the labelled key, a fixture
from tests.unit.services.test_case_webhooks import TestCaseWebhooks as CaseWebhooksBehaviour
from tests.unit.webhooks.receiver import Receiver
from tests.unit.webhooks.support import SECRET, webhook_settings, write_form

pytestmark = pytest.mark.usefixtures("ann")


@pytest.fixture
def helpdesk(services: Any, receiver: Receiver, tmp_path: Path) -> Iterator[WebhookService]:
    """The deployment's webhooks, the contact form sending its case events to the receiver as `crm` (and only
    submissions to `chat`), told by the deployment's case service."""
    write_form(tmp_path / "forms", [{"name": "crm", "url": receiver.url, "events": ["case.replied", "case.resolved"]},
                                    {"name": "chat", "url": receiver.url + "/chat",
                                     "events": ["submission.received"]}])
    settings = webhook_settings(tmp_path / "forms")
    original, told = services.webhooks, services.cases.on_change
    services.webhooks = WebhookService(settings, FormRegistry(settings.forms_dir), original.store)
    services.cases.on_change = services.webhooks.case_changed
    yield services.webhooks
    services.webhooks, services.cases.on_change = original, told


class TestCaseWebhooksOnDynamoDB(CaseWebhooksBehaviour):
    """The same tests, the cases, emails and webhook records in the session's (emptied) DynamoDB tables."""

    @pytest.fixture
    def stores(self, services: Any) -> MemoryStores:
        return MemoryStores(cases=services.cases.store, deliveries=services.delivery.store,
                            webhooks=services.webhooks.store)


def _version(body: bytes) -> str:
    found = re.search(rb'name="version" value="([0-9]+)"', body)
    assert found, body[:500]
    return found[1].decode()


def test_a_reply_and_a_decision_each_send_one_signed_case_event(
        client: Any, services: Any, helpdesk: WebhookService, receiver: Receiver, tmp_path: Path) -> None:
    services.delivery.mailer, original_mailer = OutboxMailer(tmp_path / "outbox"), services.delivery.mailer
    try:
        submission = post_contact(client, services, "idea", "Dark mode, please")
        dispatch(services.consumers, submission)  # the case opens
        cookie = session_cookie(client)
        link = f"/admin/cases/contact/{submission.id}"

        page = client.http.get(link, headers={"Cookie": cookie})
        replied = client.http.post(f"{link}/reply", headers={**FORM, "Cookie": cookie}, body=urlencode(
            {"csrf": _csrf(page.body), "version": _version(page.body), "text": "Thank you, we are looking at it."}))
        assert replied.status_code == 303 and _h(replied)["location"] == f"{link}?done=reply"
        again = client.http.post(f"{link}/reply", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                 body=urlencode({"csrf": _csrf(page.body), "version": _version(page.body),
                                                 "text": "Thank you, we are looking at it."}))
        assert again.status_code == 409  # the same page posted twice: one reply, one event

        page = client.http.get(link, headers={"Cookie": cookie})
        decided = client.http.post(f"{link}/decision", headers={**FORM, "Cookie": cookie}, body=urlencode(
            {"csrf": _csrf(page.body), "version": _version(page.body), "decision": "accepted",
             "note": "It ships in May."}))
        assert decided.status_code == 303 and _h(decided)["location"] == f"{link}?done=decision"
        case = services.cases.get("contact", submission.id)
        assert case.status == RESOLVED

        assert all(r.path == "/hooks/formloop" for r in receiver.requests)  # `chat` asked for no case event
        replied_event, resolved_event = (Webhook(SECRET).verify(r.body, r.headers) for r in receiver.requests)
        assert replied_event["type"] == "case.replied" and resolved_event["type"] == "case.resolved"
        [reply] = case.replies
        assert replied_event["data"] == {
            "form": "contact", "submissionId": submission.id, "kind": "idea", "status": ANSWERED, "language": "en",
            "replyId": reply.id, "by": "ann", "text": "Thank you, we are looking at it.",
            "repliedAt": reply.at.isoformat().replace("+00:00", "Z"),
            "link": f"http://127.0.0.1:8000/admin/cases/contact/{submission.id}"}
        data = resolved_event["data"]
        assert (data["status"], data["previousStatus"], data["by"], data["decision"], data["note"]) == (
            RESOLVED, ANSWERED, "ann", "accepted", "It ships in May.")
        ids = [r.headers["webhook-id"] for r in receiver.requests]
        assert len(set(ids)) == 2
        recorded = {d.webhook_id: d.status for d in helpdesk.deliveries("contact") if d.webhook_id in ids}
        assert recorded == dict.fromkeys(ids, "delivered")
        assert json.loads(receiver.requests[0].body)["type"] == "case.replied"
    finally:
        services.delivery.mailer = original_mailer
