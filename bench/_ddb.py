"""A throw-away in-memory DynamoDB Local for the benchmarks, started like the test session starts one."""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from formloop_cli import dynamodb_local

# DynamoDB Local accepts any credentials; set them so botocore never looks further (no IMDS, no files).
LOCAL_AWS_ENV = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}


def production_env() -> dict[str, str]:
    """Settings as a deployed stage has them: not the local stage (so definitions are not watched for edits),
    each secret set (in Lambda they come from SSM once per container; here from variables), mail through SES
    (never sent: a post only stores, mail goes out later)."""
    from chalicelib.core.config import SECRETS
    return {"FORMLOOP_STAGE": "prod", "FORMLOOP_MAIL_BACKEND": "ses",
            "FORMLOOP_MAIL_FROM": "Formloop <forms@example.com>",
            **{secret.variable: secrets.token_urlsafe(32) for secret in SECRETS.values()}}


@contextmanager
def dynamodb_local_endpoint() -> Iterator[str]:
    """FORMLOOP_BENCH_DYNAMODB_ENDPOINT if set, else a fresh in-memory DynamoDB Local stopped on exit."""
    for name, value in LOCAL_AWS_ENV.items():
        os.environ.setdefault(name, value)
    given = os.environ.get("FORMLOOP_BENCH_DYNAMODB_ENDPOINT")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="formloop-bench-ddb-") as folder:
        with dynamodb_local.running(Path(folder) / "dynamodb-local.log") as endpoint:
            yield endpoint


WRITE_OPERATIONS = ("PutItem", "TransactWriteItems", "UpdateItem", "DeleteItem", "BatchWriteItem")


class RequestCounter:
    """Counts every DynamoDB HTTP request (retries included) of every botocore client made in this process."""

    def __init__(self) -> None:
        self.active = False
        self.requests: Counter[str] = Counter()
        self.items_written = 0
        self.clients_created = 0
        self.lock = threading.Lock()

    def install(self) -> None:
        """Hook client creation, so clients PynamoDB makes later (even per request) are counted too."""
        import botocore.session
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                if counter.active:
                    counter.clients_created += 1
                client.meta.events.register("before-send.dynamodb.*", counter.before_send)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def before_send(self, request: Any, event_name: str, **_: Any) -> None:
        if not self.active:
            return
        operation = event_name.rsplit(".", 1)[-1]
        with self.lock:  # issuing gifts counts from many threads at once
            self.requests[operation] += 1
            if operation == "TransactWriteItems":
                self.items_written += len(json.loads(request.body)["TransactItems"])
            elif operation in WRITE_OPERATIONS:
                self.items_written += 1

    def reset(self) -> None:
        self.requests.clear()
        self.items_written = self.clients_created = 0


def batch_put(client: Any, table: str, items: list[dict[str, Any]], writers: int = 4) -> float:
    """Write already-serialised items in batches of 25 from a few threads (DynamoDB Local takes them faster than
    from one), sending unprocessed items again; the seconds it took."""
    import time
    from concurrent.futures import ThreadPoolExecutor
    requests = [{"PutRequest": {"Item": item}} for item in items]
    started = time.perf_counter()

    def write(batch: list[dict[str, Any]]) -> None:
        while batch:
            answer = client.batch_write_item(RequestItems={table: batch})
            batch = answer.get("UnprocessedItems", {}).get(table, [])

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, [requests[i:i + 25] for i in range(0, len(requests), 25)]))
    return time.perf_counter() - started
