"""`formloop backfill-addresses`: give submissions stored before the address indexes their index attributes.

Run once after upgrading (docs/deploy.md): export and erasure by address read only the indexes, and an item
written by an older version is in them only once this has set its normalised address. A paged scan that is safe
to run again (an item that has its attributes is left alone) and resumable: the position after each page is kept
in a checkpoint file, and a run that stopped carries on from there.

In AWS the stack adds the indexes (infra/resources.json); against DynamoDB Local, whose tables `make run` keeps
between runs and creates only when missing, this command first adds the indexes a kept table lacks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import PROJECT_ROOT

if TYPE_CHECKING:
    from chalicelib.storage.submissions import SubmissionStore

PAGE = 500


def _load(checkpoint: Path) -> tuple[str, str] | None:
    if not checkpoint.is_file():
        return None
    start = json.loads(checkpoint.read_text()).get("start")
    return (str(start[0]), str(start[1])) if start else None


def _save(checkpoint: Path, start: tuple[str, str] | None) -> None:
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    temporary = checkpoint.with_suffix(".tmp")
    temporary.write_text(json.dumps({"start": list(start) if start else None}))
    temporary.replace(checkpoint)  # atomic: a crash never leaves half a checkpoint


def add_missing_indexes(model: Any, timeout_seconds: float = 120) -> list[str]:
    """Create the model's global secondary indexes its existing table lacks, one at a time as DynamoDB requires
    (DynamoDB Local's table kept from an older version); their names."""
    from chalicelib.storage.base import botocore_client, hash_first
    client = botocore_client(model)
    table = model.Meta.table_name
    schema = model._get_schema()
    created = []
    for index in schema["global_secondary_indexes"]:
        if index["index_name"] in _indexes(client, table):
            continue
        client.update_table(TableName=table, AttributeDefinitions=schema["attribute_definitions"],
                            GlobalSecondaryIndexUpdates=[{"Create": {
                                "IndexName": index["index_name"], "KeySchema": hash_first(index["key_schema"]),
                                "Projection": index["projection"]}}])
        deadline = time.monotonic() + timeout_seconds
        while _indexes(client, table)[index["index_name"]] != "ACTIVE":  # the next may start only then
            if time.monotonic() > deadline:
                raise TimeoutError(f"the index {index['index_name']} of {table} was not built in time")
            time.sleep(0.5)
        created.append(index["index_name"])
    return created


def _indexes(client: Any, table: str) -> dict[str, str]:
    described = client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    return {index["IndexName"]: index.get("IndexStatus", "ACTIVE") for index in described}


def backfill(store: SubmissionStore, checkpoint: Path, page: int = PAGE) -> tuple[int, int]:
    """Index every submission from the checkpoint's position to the end: (read, updated). Removes the checkpoint."""
    from chalicelib.storage.address_index import backfill_page
    start = _load(checkpoint)
    read = updated = 0
    while True:
        seen, changed, start = backfill_page(store.submissions, start, page)
        read, updated = read + seen, updated + changed
        if start is None:
            checkpoint.unlink(missing_ok=True)
            return read, updated
        _save(checkpoint, start)


def main(argv: list[str]) -> int:
    """Set the address index attributes on every submission that lacks them; the exit code."""
    parser = argparse.ArgumentParser(prog="formloop backfill-addresses", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=PROJECT_ROOT / ".local" / "backfill-addresses.json",
                        help="where the position is kept between pages (a stopped run resumes from it)")
    args = parser.parse_args(argv)
    from chalicelib.core.config import Settings
    from chalicelib.core.errors import StoreUnavailableError
    from chalicelib.storage.submissions import SubmissionStore
    settings = Settings.from_environ(os.environ)
    store = SubmissionStore(settings)
    try:
        if settings.dynamodb_endpoint:
            for name in add_missing_indexes(store.submissions):
                print(f"added the index {name} to {store.submissions.Meta.table_name}")
        read, updated = backfill(store, args.checkpoint)
    except TimeoutError as exc:
        print(f"formloop backfill-addresses: {exc}; recreate the local tables (`make clean run`)", file=sys.stderr)
        return 1
    except StoreUnavailableError as exc:
        print(f"formloop backfill-addresses: stopped ({exc}); run it again to resume from {args.checkpoint}",
              file=sys.stderr)
        return 1
    print(f"{read} submissions read, {updated} given their address index attributes")
    return 0
