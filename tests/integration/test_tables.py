"""DynamoDB Local data kept by `make run` from an older Formloop gets the indexes a newer model adds."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dynamodb_local

from chalicelib.storage.base import botocore_client, create_tables, hash_first
from chalicelib.storage.deliveries import DeliveryStore


def test_an_older_deliveries_table_on_disk_gets_the_retry_index(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "dynamodb"
    with dynamodb_local.running(tmp_path / "first.log", data_dir=data) as endpoint:
        store = DeliveryStore(dataclasses.replace(settings, dynamodb_endpoint=endpoint))
        model = store.deliveries
        schema = model._get_schema()
        keys = {k["AttributeName"] for k in schema["key_schema"]}
        client = botocore_client(model)
        # The deliveries table as it was before the retry index existed, with an email in it.
        client.create_table(TableName=model.Meta.table_name, KeySchema=hash_first(schema["key_schema"]),
                            AttributeDefinitions=[a for a in schema["attribute_definitions"]
                                                  if a["AttributeName"] in keys],
                            BillingMode="PAY_PER_REQUEST")
        client.get_waiter("table_exists").wait(TableName=model.Meta.table_name)
        earlier = datetime.now(UTC)
        store.ensure("contact", "01OLD", "notification", ["team@example.com"], earlier)

    with dynamodb_local.running(tmp_path / "second.log", data_dir=data) as endpoint:  # the next `make run`
        store = DeliveryStore(dataclasses.replace(settings, dynamodb_endpoint=endpoint))
        create_tables(store.models)
        create_tables(store.models)  # and again: nothing left to add
        client = botocore_client(store.deliveries)
        indexes = client.describe_table(TableName=store.deliveries.Meta.table_name)["Table"]["GlobalSecondaryIndexes"]
        assert [(i["IndexName"], i["IndexStatus"]) for i in indexes] == [("retry-due", "ACTIVE")]
        now = datetime.now(UTC)
        waiting = store.get("contact", "01OLD", "notification")
        assert waiting is not None and waiting.created_at is not None
        store.postpone(waiting, now, now - timedelta(seconds=1), "421 try again later")
        assert store.due(now, 10) == [("contact", "01OLD")]
