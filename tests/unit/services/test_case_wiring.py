"""Cases wired into a whole Formloop on memory stores: a post opens its case through the consumers, and deleting
the submission (alone, or by erasing its address) deletes the case with the address and the replies in it."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

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


def test_not_spam_moves_the_post_to_the_inbox_and_runs_what_it_was_owed() -> None:
    from chalicelib.cases.model import INBOX, SPAM
    from chalicelib.cases.spam import SpamFolder
    from chalicelib.core.errors import ConflictError
    stores, mailer, clock = MemoryStores(), FakeMailer(), Clock()
    services = build_memory_services(memory_settings(), stores, clock=clock, mailer=mailer)
    outcome = services.submissions.submit(SubmitRequest(
        "contact", urlencode({**CONTACT, "topic": "praise", "_gotcha": "x"}).encode(),
        {"content-type": "application/x-www-form-urlencoded"}))
    spam = stores.submissions.get("contact", outcome.submission_id)
    assert spam is not None and spam.status == "spam" and dispatch(services.consumers, spam) == []
    assert services.cases is not None and services.cases.get("contact", spam.id).folder == SPAM
    assert mailer.sent == [] and services.results.summary("contact")["total"] == 0
    cleared: list[str] = []
    folder = SpamFolder(services.cases, stores.submissions, lambda s: dispatch(services.consumers, s),
                        lambda s: cleared.append(s.id))
    clock.advance(hours=3)
    case = folder.not_spam("contact", spam.id, "ann")
    assert case.folder == INBOX and case.history[-1].who == "ann" and "not spam" in case.history[-1].note
    assert stores.submissions.get("contact", spam.id).status == "received"  # type: ignore[union-attr]
    assert sorted(mailer.recipients) == ["ann@example.com", "team@example.com"]  # acknowledgement, team
    assert services.results.summary("contact")["total"] == 1 and cleared == [spam.id]
    assert [letter.send_after for letter in case.letters] == [clock() + timedelta(hours=2)]  # praise: thanked later
    clock.advance(hours=2, minutes=1)
    assert services.delivery is not None and services.delivery.retry_due(stores.submissions.get) == 1
    assert mailer.recipients[-1] == "ann@example.com" and mailer.sent[-1][0]["Subject"].startswith("Thank you")
    with pytest.raises(ConflictError, match="not in the spam folder"):
        folder.not_spam("contact", spam.id, "ann")  # twice: the consumers do not run again
    assert len(mailer.sent) == 3 and cleared == [spam.id]
