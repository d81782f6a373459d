"""Where events come from: the gift service's hook at each change, and the post-write consumer as wired."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from chalicelib.forms.definitions import FormRegistry
from chalicelib.gifts.service import GiftService
from chalicelib.jobs import dispatch, retry_waiting_webhooks
from chalicelib.storage.memory_gifts import MemoryGiftStore
from chalicelib.webhooks.transport import WebhookTransport
from chalicelib.wiring import MemoryStores, build_memory_services

from .receiver import running
from .support import ROOT, SECRET, Clock, contact, webhook_settings, write_form


def _gift_service(forms_dir: Path, clock: Clock) -> GiftService:
    (forms_dir / "gifts").mkdir(parents=True, exist_ok=True)
    definition = json.loads((ROOT / "forms" / "customer-survey.json").read_text(encoding="utf-8"))
    definition["x-form"]["gift"] = {"campaign": "hook-gift"}
    (forms_dir / "customer-survey.json").write_text(json.dumps(definition), encoding="utf-8")
    campaign = {"form": "customer-survey", "title": {"en": "A coupon"}, "value": "15% off",
                "codes": {"source": "pool"}, "digital": True}
    (forms_dir / "gifts" / "hook-gift.json").write_text(json.dumps(campaign), encoding="utf-8")
    settings = webhook_settings(forms_dir)
    service = GiftService(settings, FormRegistry(forms_dir), MemoryGiftStore(), clock=clock)
    service.load_codes("hook-gift", "code\nSHOP-1\nSHOP-2\n")
    return service


def test_the_gift_service_tells_each_change_once(tmp_path: Path) -> None:
    clock = Clock()
    gifts = _gift_service(tmp_path / "forms", clock)
    told: list[tuple[str, str, str, datetime]] = []
    gifts.on_change = lambda event, gift, at: told.append((event, gift.id, gift.state, at))
    submission = contact(clock)
    submission.form, submission.answers = "customer-survey", {"nps": 9, "email": "ann@example.com"}
    outcome = gifts.promise(submission)
    gifts.promise(submission)  # the same respondent again: the same gift, nothing new
    assert outcome is not None and outcome.gift is not None and outcome.token is not None
    page = gifts.claim(outcome.gift.id, outcome.token)
    gifts.claim(outcome.gift.id, outcome.token)  # shows the same code, changes nothing
    assert page.code is not None
    gifts.redeem_code(page.code)
    gift_id = outcome.gift.id
    assert [(e, g, s) for e, g, s, _ in told] == [("gift.issued", gift_id, "promised"),
                                                    ("gift.claimed", gift_id, "claimed"),
                                                    ("gift.redeemed", gift_id, "redeemed")]


def test_memory_services_wire_the_consumer_the_gift_hook_and_the_retry_round(tmp_path: Path) -> None:
    clock = Clock()
    with running() as receiver:
        write_form(tmp_path / "forms", [{"name": "crm", "url": receiver.url,
                                         "events": ["submission.received", "gift.claimed"]}])
        stores = MemoryStores()
        services = build_memory_services(webhook_settings(tmp_path / "forms"), stores, clock=clock,
                                         webhook_transport=WebhookTransport(require_https=False, allow_private=True))
        assert services.webhooks is not None and services.webhooks in services.consumers
        assert services.gifts is not None and services.gifts.on_change == services.webhooks.gift_changed
        submission = contact(clock)
        assert dispatch(services.consumers, submission) == []
        gift: Any = type("G", (), {"id": "gift-1", "campaign": "c", "state": "claimed", "form": "contact",
                                   "submission_id": submission.id, "language": "en"})()
        services.gifts.on_change("gift.claimed", gift, clock())
        clock.advance(1)
        assert retry_waiting_webhooks(services) == 1
    types = [Webhook(SECRET).verify(r.body, r.headers)["type"] for r in receiver.requests]
    assert types == ["submission.received", "gift.claimed"]


def test_without_a_transport_memory_services_have_no_webhooks(tmp_path: Path) -> None:
    write_form(tmp_path / "forms", [])
    services = build_memory_services(webhook_settings(tmp_path / "forms"))
    assert services.webhooks is None and retry_waiting_webhooks(services) == 0


def test_deleting_a_submission_forgets_its_stored_events(tmp_path: Path) -> None:
    from chalicelib.webhooks.events import submission_event
    clock = Clock()
    with running() as receiver:
        write_form(tmp_path / "forms", [{"name": "crm", "url": receiver.url, "events": ["submission.received"]}])
        stores = MemoryStores()
        services = build_memory_services(webhook_settings(tmp_path / "forms"), stores, clock=clock,
                                         webhook_transport=WebhookTransport(require_https=False, allow_private=True))
        submission = contact(clock)
        stores.submissions.put(submission)
        assert dispatch(services.consumers, submission) == []
    event_id = submission_event(submission).id
    assert stores.webhooks.event("contact", event_id) is not None  # kept for retries and replays
    services.removal.delete("contact", submission.id)
    assert stores.webhooks.event("contact", event_id) is None  # its answers go with the submission
