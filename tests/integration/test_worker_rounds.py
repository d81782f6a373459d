"""The local worker runs the email schedule's rounds: the team digest of overdue cases arrives locally too, and a
restarted worker never sends it twice the same day (its guards live in DynamoDB Local, not in the process)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from chalicelib.cases.service import CaseService
from chalicelib.mail.transport import OutboxMailer
from tests.unit.services.support import Clock
from tests.unit.services.test_case_service import contact

from .test_delivery import make_delivery, sent


def digests(outbox: OutboxMailer) -> list[Any]:
    """The overdue digests in the outbox, oldest first."""
    return [message for message in sent(outbox) if message["Subject"].startswith("[overdue]")]


def test_the_worker_sends_the_digest_once_a_day_across_restarts(services: Any, tmp_path: Path) -> None:
    from formloop_cli.worker import StreamWorker

    class StartedThenStopped(StreamWorker):
        """A worker stopped (Ctrl-C) at its first poll: what its loop ran before that is its start-up rounds."""

        def poll_once(self) -> int:
            raise KeyboardInterrupt

    clock = Clock()
    outbox = OutboxMailer(tmp_path / "outbox")
    cases = CaseService(services.forms, services.cases.store, services.store.get, clock=clock)
    cases.delivery = make_delivery(services, outbox, clock)
    scoped = dataclasses.replace(services, consumers=[], cases=cases)
    question = contact(clock, "question")
    cases(question)  # its case: an answer is due in 24 hours
    clock.advance(hours=25)

    StartedThenStopped(scoped, tmp_path / "checkpoint.json", start="LATEST").run()
    [digest] = digests(outbox)
    assert f"/admin/cases/contact/{question.id}" in digest.get_body(("plain",)).get_content()

    clock.advance(minutes=5)  # `make run` again: a new worker, its first round at once
    StartedThenStopped(scoped, tmp_path / "checkpoint.json", start="LATEST").run()
    clock.advance(hours=3)  # a later hour of the same day: the case was listed today already
    StreamWorker(scoped, tmp_path / "checkpoint.json", start="LATEST").send_overdue_digest()
    assert len(digests(outbox)) == 1

    clock.advance(days=1)  # still late the next day: listed again
    StreamWorker(scoped, tmp_path / "checkpoint.json", start="LATEST").send_overdue_digest()
    assert len(digests(outbox)) == 2


def test_the_worker_offers_the_digest_at_the_email_schedules_rate() -> None:
    from chalice.app import Rate, ScheduledEventConfig

    import app as app_module
    from formloop_cli.worker import EMAIL_SCHEDULE_SECONDS
    [schedule] = [source for source in app_module.app.event_sources if source.name == "retry_waiting_emails"]
    assert isinstance(schedule, ScheduledEventConfig)
    rate = schedule.schedule_expression
    assert isinstance(rate, Rate) and rate.to_string() == f"rate({int(EMAIL_SCHEDULE_SECONDS // 60)} minutes)"
