"""Cases wired into a whole Formloop on memory stores: a post opens its case through the consumers, and deleting
the submission (alone, or by erasing its address) deletes the case with the address and the replies in it."""
from __future__ import annotations

from urllib.parse import urlencode

from chalicelib.intake.service import SubmitRequest
from chalicelib.jobs import dispatch
from chalicelib.wiring import MemoryStores, Services, build_memory_services

from .support import Clock, memory_settings
from .test_delivery_service import FakeMailer

CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "complaint", "message": "Broken.",
           "consent": "on"}


def _posted(services: Services, stores: MemoryStores) -> str:
    outcome = services.submissions.submit(SubmitRequest(
        "contact", urlencode(CONTACT).encode(), {"content-type": "application/x-www-form-urlencoded"}))
    stored = stores.submissions.get("contact", outcome.submission_id)
    assert stored is not None and dispatch(services.consumers, stored) == []
    return outcome.submission_id


def test_a_post_opens_its_case_and_deleting_the_submission_deletes_it() -> None:
    stores, mailer = MemoryStores(), FakeMailer()
    services = build_memory_services(memory_settings(), stores, clock=Clock(), mailer=mailer)
    submission_id = _posted(services, stores)
    assert services.cases is not None
    services.cases.reply("contact", submission_id, "Sorry: a new one is on its way.", "ann")
    assert stores.cases.get("contact", submission_id) is not None
    services.removal.delete("contact", submission_id)
    assert stores.cases.get("contact", submission_id) is None


def test_erasing_an_address_erases_its_cases() -> None:
    stores = MemoryStores()
    services = build_memory_services(memory_settings(), stores, clock=Clock(), mailer=FakeMailer())
    submission_id = _posted(services, stores)
    services.addresses.erase("ann@example.com", None)
    assert stores.cases.get("contact", submission_id) is None
    assert stores.cases.cases == {}
