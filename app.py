"""Formloop's Lambda entry point: the Chalice app, its blueprints, and the stream and schedule handlers."""
from __future__ import annotations

import gc
import os

# In Lambda, a cold start allocates about a hundred thousand long-lived objects (Chalice, the routes, then on the
# first request botocore's service model and client): the collector would walk them again and again, finding
# nothing to free. There it stays off until the first event has been answered (`_collect_after_the_first_event`).
_COLLECT_AFTER_FIRST_EVENT = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
if _COLLECT_AFTER_FIRST_EVENT:
    gc.disable()

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from chalice import Chalice, Rate  # noqa: E402

from chalicelib.routes import edge  # noqa: E402
from chalicelib.routes.admin import admin  # noqa: E402
from chalicelib.routes.dashboard import dashboard  # noqa: E402
from chalicelib.routes.edge import services, use_services  # noqa: E402
from chalicelib.routes.forms import forms  # noqa: E402
from chalicelib.routes.gifts import gifts  # noqa: E402
from chalicelib.routes.local import local  # noqa: E402
from chalicelib.routes.openapi import contract  # noqa: E402
from chalicelib.routes.results_pages import results_pages  # noqa: E402
from chalicelib.routes.webhooks import webhooks  # noqa: E402

# Placeholders `chalice package` needs at build time; infra/resources.json replaces both with the stack's own.
STREAM_ARN_PLACEHOLDER = "arn:aws:dynamodb:us-east-1:000000000000:table/formloop-prod-submissions/stream/merged"
MAIL_EVENTS_TOPIC = "arn:aws:sns:us-east-1:000000000000:formloop-mail-events"

app = Chalice(app_name="formloop")
# API Gateway hands these request bodies over base64-encoded, byte for byte: a multipart post may carry any bytes.
# Formloop serves and accepts nothing else binary, and Chalice matches every request and response against this
# list (four times a request), so it holds only what is needed.
app.api.binary_types[:] = ["multipart/form-data"]
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




def _collect_after_the_first_event(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: once the first event (a post, a stream batch, a schedule) is answered, freeze what the
    cold start loaded and turn the collector back on."""
    global _COLLECT_AFTER_FIRST_EVENT
    response = get_response(event)
    if _COLLECT_AFTER_FIRST_EVENT:
        _COLLECT_AFTER_FIRST_EVENT = False
        # Frozen, the collector's full passes skip what lives as long as the process (otherwise about 40 ms of
        # the next full pass walks botocore's service model, measured by `make bench`).
        gc.freeze()
        gc.enable()
    return response


app.register_middleware(_collect_after_the_first_event, "all")
gc.freeze()
