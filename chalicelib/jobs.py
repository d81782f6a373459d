"""After the write: hand each stored submission to every post-write consumer.

The one path shared by the Chalice DynamoDB Streams handler (AWS) and `formloop worker`
(DynamoDB Local's stream): both call `handle_stream_record` for each record, and
`retry_waiting_emails` now and then (a schedule in AWS).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from chalicelib.core.submission import Submission
from chalicelib.wiring import Services

log = logging.getLogger("formloop.pipeline")


def dispatch(consumers: Iterable[Callable[[Submission], None]], submission: Submission) -> list[Exception]:
    """Run every consumer on one submission; one failing never stops the others. The failures."""
    failures: list[Exception] = []
    for consumer in consumers:
        try:
            consumer(submission)
        except Exception as exc:  # isolated: logged, returned, and the next consumer still runs
            log.exception("consumer %r failed on %s/%s", consumer, submission.form, submission.id)
            failures.append(exc)
    return failures


def handle_stream_record(services: Services, event_name: str, new_image: dict[str, Any] | None) -> list[Exception]:
    """One stream record of the submissions table: new items go to every consumer; the failures."""
    if event_name != "INSERT" or not new_image:
        return []  # updates and deletions (erasure, TTL expiry) owe no email
    return dispatch(services.consumers, services.store.from_stream_image(new_image))


class StreamRecord(Protocol):
    """One DynamoDB Streams record as the handler sees it (Chalice's DynamoDBRecord has these)."""

    event_name: str
    new_image: Any
    sequence_number: str


def failed_stream_records(services: Services, records: Iterable[StreamRecord]) -> list[str]:
    """Hand each record to the consumers; the sequence numbers of the records that failed, for Lambda to retry.

    A record that cannot even be read (a poison record) fails alone: the others are handled all the same, and
    Lambda, told only the failed ones (ReportBatchItemFailures), retries from there, splitting the batch.
    """
    failed: list[str] = []
    for record in records:
        try:
            failures = handle_stream_record(services, record.event_name, record.new_image)
        except Exception as exc:  # unreadable image or store failure: this record only
            log.exception("stream record %s could not be handled", record.sequence_number)
            failures = [exc]
        if failures:
            failed.append(record.sequence_number)
    return failed


def record_mail_events(services: Services, messages: Iterable[str]) -> int:
    """Apply SES bounce and complaint events (SNS messages); how many changed something."""
    bounces = services.bounces
    if bounces is None:
        log.warning("mail event received, but this deployment sends no email")
        return 0
    return sum(1 for message in messages if bounces.record(message) is not None)


def retry_waiting_emails(services: Services, limit: int = 50) -> int:
    """The next round for emails whose mail provider kept failing, and for webhooks whose receiver did (or that
    gift events queued); how many submissions were offered again."""
    retry_waiting_webhooks(services, limit)
    delivery = services.delivery
    if delivery is None:
        return 0
    return delivery.retry_due(services.store.get, limit)


def retry_waiting_webhooks(services: Services, limit: int = 50) -> int:
    """The next attempt of every webhook delivery that is due; how many were attempted (never raises)."""
    webhooks = services.webhooks
    if webhooks is None:
        return 0
    try:
        return webhooks.retry_due(limit)
    except Exception:  # DynamoDB out of reach: the next round tries again, and the emails still get theirs
        log.exception("retrying waiting webhooks failed; trying again next round")
        return 0


def expire_gifts(services: Services) -> int:
    """Record the expiry of every gift past its date, in every campaign; how many expired now.

    Expiry is enforced by the write conditions whether or not it is recorded; recording it keeps the stock
    report (and the low-stock warning) true. An hourly schedule in AWS, every hour in the local worker.
    """
    gifts = services.gifts
    if gifts is None:
        return 0
    return sum(gifts.expire_due(campaign.id) for campaign in gifts.campaigns.all())


def send_overdue_digest(services: Services) -> int:
    """Email each form's team its cases past their due time, each case at most once a day; how many were listed.

    Called by every round of the email schedule, it works in the first round of each hour only.
    """
    cases = services.cases
    if cases is None:
        return 0
    try:
        return cases.overdue_digest()
    except Exception:  # DynamoDB out of reach: the next hour tries again
        log.exception("the overdue digest failed; trying again next hour")
        return 0
