"""build_memory_services wires every service over the in-memory stores, as build_services does over DynamoDB: a
post, once its consumers run, is counted in the results, listed in the export, owed its emails and, for a survey
with a campaign, a gift."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from chalicelib.intake.service import SubmitRequest
from chalicelib.jobs import dispatch
from chalicelib.wiring import MemoryStores, build_memory_services

from .support import Clock, memory_settings
from .test_delivery_service import FakeMailer

CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "question", "message": "Where is it?",
           "consent": "on"}
SURVEY = {"email": "bob@example.com", "nps": 9, "reason": "Quick delivery"}


def test_a_post_reaches_results_exports_and_mail_on_memory_stores() -> None:
    stores, mailer = MemoryStores(), FakeMailer()
    services = build_memory_services(memory_settings(), stores, clock=Clock(), mailer=mailer)
    outcome = services.submissions.submit(SubmitRequest(
        "contact", urlencode(CONTACT).encode(), {"content-type": "application/x-www-form-urlencoded"}))
    stored = stores.submissions.get("contact", outcome.submission_id)
    assert stored is not None

    assert dispatch(services.consumers, stored) == []

    assert services.results is not None and services.results.summary("contact")["total"] == 1
    assert services.exports is not None
    assert [row["id"] for row in services.exports.page("contact", cursor=None, limit=None,
                                                        status=None)["submissions"]] == [outcome.submission_id]
    assert sorted(mailer.recipients) == ["ann@example.com", "team@example.com"]
    assert services.stores == []  # nothing to create


def test_a_survey_answer_earns_a_gift_from_the_memory_gift_store() -> None:
    stores, mailer = MemoryStores(), FakeMailer()
    services = build_memory_services(memory_settings(), stores, clock=Clock(), mailer=mailer)
    assert services.gifts is not None
    assert services.gifts.ensure_generated("spring-coupon") == 200
    outcome = services.submissions.submit(SubmitRequest(
        "customer-survey", json.dumps(SURVEY).encode(), {"content-type": "application/json"}))
    stored = stores.submissions.get("customer-survey", outcome.submission_id)
    assert stored is not None and dispatch(services.consumers, stored) == []

    stock = services.gifts.stock("spring-coupon")  # a link is promised; the claim takes the code
    assert (stock["promised"], stock["available"]) == (1, 200)
    acknowledgement, = [message for message, to in mailer.sent if to == ["bob@example.com"]]
    assert "/g/" in acknowledgement.as_string()  # the link to the gift


def test_without_a_mailer_nothing_is_sent_and_delivery_is_absent() -> None:
    services = build_memory_services(memory_settings())
    assert services.delivery is None and services.results is not None and services.gifts is not None
