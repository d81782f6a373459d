"""Export and erasure by address on DynamoDB Local's address indexes: the behaviour of
tests/unit/services/test_address_index.py, what each request reads, the backfill of items written before the
indexes, and the indexes added to a table kept from before."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission
from chalicelib.storage.base import botocore_client
from chalicelib.storage.submissions import SubmissionStore
from chalicelib.wiring import Services
from formloop_cli.backfill_addresses import add_missing_indexes, backfill
from tests.unit.services.support import Clock
from tests.unit.services.test_address_index import TestAddressIndex as AddressIndexBehaviour
from tests.unit.services.test_address_index import ids, stored


class TestAddressIndexOnDynamoDB(AddressIndexBehaviour):
    """The same tests, over the session's (emptied) DynamoDB tables."""

    @pytest.fixture
    def services(self, services: Any) -> Services:  # the session's, from tests/conftest.py
        return services  # type: ignore[no-any-return]


def reads(services: Any) -> Any:
    """A recorder of every DynamoDB call of the submissions store's client: (operation, index, items read)."""
    calls: list[tuple[str, str | None, int]] = []

    def count(params: Any, model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("IndexName"), 0))

    def counted(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        name, index, _read = calls[-1]
        batch = parsed.get("Responses", {}).get(services.store.submissions.Meta.table_name, [])
        calls[-1] = (name, index, int(parsed.get("ScannedCount", parsed.get("Count", len(batch)))))

    client = botocore_client(services.store.submissions)
    client.meta.events.register("provide-client-params.dynamodb", count)
    client.meta.events.register("after-call.dynamodb", counted)
    return client, calls, (count, counted)


def test_a_request_reads_the_address_index_and_its_own_submissions_only(services: Any) -> None:
    for index in range(60):
        stored(services, f"someone{index}@example.com")
    mine = sorted([stored(services, "ann@example.com").id, stored(services, "Ann+x@example.com").id,
                   stored(services, "carol@example.com", reply_to="ann@example.com").id])
    client, calls, (count, counted) = reads(services)
    try:
        assert ids(services.addresses.export("ann@example.com", None)) == mine
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb", count)
        client.meta.events.unregister("after-call.dynamodb", counted)
    assert "Scan" not in {name for name, _, _ in calls}
    assert sorted((name, index) for name, index, _ in calls if name == "Query") == [
        ("Query", "by-address"), ("Query", "by-reply-address")]
    assert sum(read for _, _, read in calls) <= 2 * len(mine)  # the index entries, then each item by its key


def write_as_before(services: Any, submission: Submission) -> None:
    """The item an older version wrote: everything but the address index attributes."""
    store = services.store
    hash_key, attributes = store.tables._put_arguments(store.tables._record(submission))
    for name in ("address", "reply_address"):
        attributes.pop(name, None)
    store.submissions._get_connection().put_item(hash_key, range_key=submission.id, attributes=attributes)


def test_the_backfill_indexes_what_was_stored_before_once_and_resumes(services: Any, tmp_path: Path) -> None:
    older = [Submission(form="contact", id=str(ULID()), created_at=Clock()(), status="received",
                        answers={"message": "Hello"}, respondent_email=f"Ann+{index}@Example.com")
             for index in range(5)]
    for submission in older:
        write_as_before(services, submission)
    stored(services, "bob@example.com")  # written by this version: nothing to do
    assert services.addresses.export("ann@example.com", None)["submissions"] == []

    checkpoint = tmp_path / "backfill.json"
    from chalicelib.storage.address_index import backfill_page
    read, updated, start = backfill_page(services.store.submissions, None, 2)  # a run stopped after a page
    assert read == 2 and start is not None
    checkpoint.write_text(f'{{"start": ["{start[0]}", "{start[1]}"]}}')
    read, updated_later = backfill(services.store, checkpoint, page=2)
    assert read == 4 and updated + updated_later == 5 and not checkpoint.exists()  # resumed after the first page
    assert ids(services.addresses.export("ann@example.com", None)) == sorted(s.id for s in older)
    assert backfill(services.store, checkpoint) == (6, 0)  # again: nothing left to do


def test_a_local_table_kept_from_before_gets_the_indexes_it_lacks(tmp_path: Path) -> None:
    from formloop_cli import dynamodb_local
    with dynamodb_local.running(tmp_path / "dynamodb-local.log") as endpoint:  # a DynamoDB Local of its own
        settings = Settings.from_environ({"FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "FORMLOOP_TABLE_PREFIX": "old"})
        model: Any = SubmissionStore(settings).submissions
        client = botocore_client(model)
        client.create_table(TableName=model.Meta.table_name, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "form", "AttributeType": "S"},
                                                  {"AttributeName": "id", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "form", "KeyType": "HASH"},
                                       {"AttributeName": "id", "KeyType": "RANGE"}])
        assert add_missing_indexes(model) == ["by-address", "by-reply-address"]
        assert add_missing_indexes(model) == []
