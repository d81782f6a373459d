"""Formloop's Lambda entry point: the Chalice app, its blueprints, and the stream and schedule handlers."""
from __future__ import annotations

import gc
import os
from typing import Any

from chalice import Chalice, Rate

from chalicelib.routes import edge
from chalicelib.routes.admin import admin
from chalicelib.routes.dashboard import dashboard
from chalicelib.routes.edge import services, use_services
from chalicelib.routes.forms import forms
from chalicelib.routes.gifts import gifts
from chalicelib.routes.local import local
from chalicelib.routes.openapi import contract
from chalicelib.routes.results_pages import results_pages
from chalicelib.routes.webhooks import webhooks

# Placeholders `chalice package` needs at build time; infra/resources.json replaces both with the stack's own.
STREAM_ARN_PLACEHOLDER = "arn:aws:dynamodb:us-east-1:000000000000:table/formloop-prod-submissions/stream/merged"
MAIL_EVENTS_TOPIC = "arn:aws:sns:us-east-1:000000000000:formloop-mail-events"

app = Chalice(app_name="formloop")
app.api.binary_types.append("multipart/form-data")
edge.attach(app)
app.register_blueprint(forms)
app.register_blueprint(gifts)
app.register_blueprint(admin)
app.register_blueprint(dashboard)
app.register_blueprint(results_pages)
app.register_blueprint(local)
app.register_blueprint(webhooks)
app.register_blueprint(contract)

__all__ = ["app", "deliver_stream_batch", "on_mail_event", "on_submission_stored", "services", "use_services"]


def deliver_stream_batch(event: Any) -> dict[str, list[dict[str, str]]]:
    """Hand each new submission in a DynamoDB Streams batch to every post-write consumer (as the local worker does).

    Answers the records that failed (`ReportBatchItemFailures`): Lambda retries from those, never the whole batch
    again for one poison record; consumers are idempotent, so a record handled twice sends nothing twice.
    """
    from chalicelib.jobs import failed_stream_records
    failed = failed_stream_records(services(), event)
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}


# The stream of the submissions table: `chalice package` needs a literal ARN, and infra/resources.json swaps in
# the table's own (Fn::GetAtt). Registered in every stage, so the deployed function finds its handler.
@app.on_dynamodb_record(stream_arn=os.environ.get("FORMLOOP_SUBMISSIONS_STREAM_ARN", STREAM_ARN_PLACEHOLDER),
                        batch_size=10, starting_position="TRIM_HORIZON")
def on_submission_stored(event: Any) -> dict[str, list[dict[str, str]]]:
    return deliver_stream_batch(event)


# SES publishes bounces and complaints of the configuration set to this topic (infra/resources.json); the
# delivery is marked and the address suppressed for acknowledgements (chalicelib/mail/bounces.py).
@app.on_sns_message(topic=MAIL_EVENTS_TOPIC)
def on_mail_event(event: Any) -> None:
    from chalicelib.jobs import record_mail_events
    record_mail_events(services(), [event.message])


# Emails whose mail provider kept failing wait for a later round (chalicelib/mail/delivery.py); this gives them one.
@app.schedule(Rate(5, unit=Rate.MINUTES))
def retry_waiting_emails(event: Any) -> None:
    from chalicelib.jobs import retry_waiting_emails as retry
    from chalicelib.jobs import send_overdue_digest
    retry(services())
    send_overdue_digest(services())  # its first round of each hour only (chalicelib/cases/digest.py)


# Gifts past their date are refused by the write conditions anyway; recording it keeps the stock report true.
@app.schedule(Rate(1, unit=Rate.HOURS))
def expire_gifts(event: Any) -> None:
    from chalicelib.jobs import expire_gifts as expire
    expire(services())


# What the module imported above (Chalice, PynamoDB, botocore, the routes) lives as long as the process.
# Frozen, the collector's full passes skip it: the first request, which loads DynamoDB's service model,
# otherwise triggers one that walks all of it (about 40 ms of every cold start, measured by `make bench`).
gc.freeze()
