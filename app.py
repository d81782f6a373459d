"""Formloop's Lambda entry point: the Chalice app, its blueprints, and the stream and schedule handlers."""
from __future__ import annotations

import gc
import os
from typing import Any

from chalice import Chalice, Rate

from chalicelib.routes import edge
from chalicelib.routes.admin import admin
from chalicelib.routes.edge import services, use_services
from chalicelib.routes.forms import forms
from chalicelib.routes.gifts import gifts
from chalicelib.routes.local import local

app = Chalice(app_name="formloop")
app.api.binary_types.append("multipart/form-data")
edge.attach(app)
app.register_blueprint(forms)
app.register_blueprint(gifts)
app.register_blueprint(admin)
app.register_blueprint(local)

__all__ = ["app", "deliver_stream_batch", "services", "use_services"]


def deliver_stream_batch(event: Any) -> None:
    """Hand each new submission in a DynamoDB Streams batch to every post-write consumer (as the local worker does).

    Raises after the whole batch if a consumer failed, so Lambda offers the batch again; consumers are idempotent.
    """
    from chalicelib.jobs import ConsumerFailedError, handle_stream_record
    failures = [failure for record in event
                for failure in handle_stream_record(services(), record.event_name, record.new_image)]
    if failures:
        raise ConsumerFailedError(f"{len(failures)} consumer failure(s), first: {failures[0]!r}")


# The stream of the submissions table (from `chalice package`'s infra); unset locally, where the worker reads it.
if os.environ.get("FORMLOOP_SUBMISSIONS_STREAM_ARN"):
    @app.on_dynamodb_record(stream_arn=os.environ["FORMLOOP_SUBMISSIONS_STREAM_ARN"], batch_size=10,
                            starting_position="TRIM_HORIZON")
    def on_submission_stored(event: Any) -> None:
        deliver_stream_batch(event)


# Emails whose mail provider kept failing wait for a later round (chalicelib/mail/delivery.py); this gives them one.
@app.schedule(Rate(5, unit=Rate.MINUTES))
def retry_waiting_emails(event: Any) -> None:
    from chalicelib.jobs import retry_waiting_emails as retry
    retry(services())


# Gifts past their date are refused by the write conditions anyway; recording it keeps the stock report true.
@app.schedule(Rate(1, unit=Rate.HOURS))
def expire_gifts(event: Any) -> None:
    from chalicelib.jobs import expire_gifts as expire
    expire(services())


# What the module imported above (Chalice, PynamoDB, botocore, the routes) lives as long as the process.
# Frozen, the collector's full passes skip it: the first request, which loads DynamoDB's service model,
# otherwise triggers one that walks all of it (about 40 ms of every cold start, measured by `make bench`).
gc.freeze()
