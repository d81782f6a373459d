"""`submission.spam_cleared` end to end, as the owner meets it: a post caught by the honeypot on a form whose
webhook target is a real local receiver, read from DynamoDB Local's stream by the worker, then "Not spam" from the
dashboard (signed in, CSRF token); the receiver gets exactly one event, signed, and nothing before it."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.forms.definitions import FormRegistry
from chalicelib.mail.transport import OutboxMailer
from chalicelib.webhooks.service import WebhookService
from formloop_cli.worker import StreamWorker
from tests.integration.test_dashboard import FORM, _csrf, _h, session_cookie
from tests.integration.test_dashboard import ann as ann  # the labelled key, a fixture
from tests.integration.test_submit import post_form
from tests.unit.webhooks.receiver import Receiver
from tests.unit.webhooks.support import SECRET, webhook_settings, write_form

pytestmark = pytest.mark.usefixtures("ann")


@pytest.fixture
def crm(services: Any, receiver: Receiver, tmp_path: Path) -> Iterator[WebhookService]:
    """The deployment's webhooks, with the contact form sending every submission event to the receiver as `crm`."""
    write_form(tmp_path / "forms", [{"name": "crm", "url": receiver.url,
                                     "events": ["submission.received", "submission.spam_cleared"]}])
    settings = webhook_settings(tmp_path / "forms")
    original = services.webhooks
    services.webhooks = WebhookService(settings, FormRegistry(settings.forms_dir), original.store)
    yield services.webhooks
    services.webhooks = original


def test_not_spam_sends_one_signed_spam_cleared_and_the_spam_post_sent_nothing(
        client: Any, services: Any, crm: WebhookService, receiver: Receiver, tmp_path: Path) -> None:
    services.delivery.mailer, original_mailer = OutboxMailer(tmp_path / "outbox"), services.delivery.mailer
    try:
        # The stream's consumers as the deployment runs them, this form's webhooks among them.
        stream = StreamWorker(dataclasses.replace(services, consumers=[*services.consumers, crm]),
                              tmp_path / "checkpoint.json", start="LATEST")
        stream.poll_once()
        posted = post_form(client, "contact", {"name": "Ann Lee", "email": "ann@example.com", "topic": "question",
                                               "message": "Real person here", "consent": "on",
                                               "_gotcha": "autofilled"})
        assert posted.status_code == 303  # the bot sees success
        [spam] = services.store.list("contact")
        assert spam.status == "spam"
        assert stream.poll_once() == 1  # the stored post went through every consumer
        assert receiver.requests == []  # spam is never announced

        cookie = session_cookie(client)
        link = f"/admin/cases/contact/{spam.id}"
        page = client.http.get(link, headers={"Cookie": cookie})
        assert page.status_code == 200 and b"Not spam: move to the inbox" in page.body
        moved = client.http.post(f"{link}/not-spam", headers={**FORM, "Cookie": cookie},
                                 body=urlencode({"csrf": _csrf(page.body)}))
        assert moved.status_code == 303 and _h(moved)["location"] == f"{link}?done=not-spam"
        stream.poll_once()  # the status change's record owes nothing more
        again = client.http.post(f"{link}/not-spam", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                 body=urlencode({"csrf": _csrf(page.body)}))
        assert again.status_code == 409

        [request] = receiver.requests
        payload = Webhook(SECRET).verify(request.body, request.headers)  # raises unless signed with the secret
        assert payload["type"] == "submission.spam_cleared"
        assert payload["data"]["submissionId"] == spam.id and payload["data"]["form"] == "contact"
        assert json.loads(request.body)["data"]["answers"]["message"] == "Real person here"
    finally:
        services.delivery.mailer = original_mailer


class _UnreachableEvents:
    """A webhooks store whose table cannot be reached: every write fails as DynamoDB's would."""

    def __getattr__(self, name: str) -> Any:
        from chalicelib.core.errors import StoreUnavailableError

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailableError(f"webhooks table unreachable ({name})")
        return fail


def test_not_spam_still_moves_the_post_when_its_webhook_cannot_be_recorded(
        client: Any, services: Any, crm: WebhookService, tmp_path: Path) -> None:
    posted = post_form(client, "contact", {"name": "Bo", "email": "bo@example.com", "topic": "idea",
                                           "message": "A real idea", "consent": "on", "_gotcha": "autofilled"})
    assert posted.status_code == 303
    [spam] = [s for s in services.store.list("contact") if s.status == "spam"]
    from chalicelib.jobs import dispatch
    assert dispatch(services.consumers, spam) == []  # as the stream would: its case opens in the spam folder
    services.webhooks = WebhookService(crm.settings, crm.forms, _UnreachableEvents())  # type: ignore[arg-type]
    services.delivery.mailer, original_mailer = OutboxMailer(tmp_path / "outbox"), services.delivery.mailer
    try:
        cookie = session_cookie(client)
        link = f"/admin/cases/contact/{spam.id}"
        page = client.http.get(link, headers={"Cookie": cookie})
        moved = client.http.post(f"{link}/not-spam", headers={**FORM, "Cookie": cookie},
                                 body=urlencode({"csrf": _csrf(page.body)}))
        # The owner's action stands (the post is in the inbox, its emails went); the webhook's failure is logged.
        assert moved.status_code == 303 and _h(moved)["location"] == f"{link}?done=not-spam"
        assert services.store.get("contact", spam.id).status == "received"
    finally:
        services.delivery.mailer = original_mailer
