"""A throw-away in-memory DynamoDB Local for the benchmarks, started like the test session starts one."""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import dynamodb_local  # noqa: E402

# DynamoDB Local accepts any credentials; set them so botocore never looks further (no IMDS, no files).
LOCAL_AWS_ENV = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def dynamodb_local_endpoint() -> Iterator[str]:
    """FORMLOOP_BENCH_DYNAMODB_ENDPOINT if set, else a fresh in-memory DynamoDB Local stopped on exit."""
    for name, value in LOCAL_AWS_ENV.items():
        os.environ.setdefault(name, value)
    given = os.environ.get("FORMLOOP_BENCH_DYNAMODB_ENDPOINT")
    if given:
        yield given
        return
    port = dynamodb_local.free_port()
    with tempfile.TemporaryDirectory(prefix="formloop-bench-ddb-") as folder:
        process = dynamodb_local.start(port, data_dir=None, log=Path(folder) / "dynamodb-local.log")
        endpoint = f"http://127.0.0.1:{port}"
        try:
            dynamodb_local.wait_ready(endpoint, process)
            yield endpoint
        finally:
            dynamodb_local.stop(process)
