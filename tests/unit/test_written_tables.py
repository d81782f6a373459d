"""The record of written tables that lets the integration tier empty only those before each test
(tests/written_tables.py): a table missed here would leak one test's items into the next."""
from __future__ import annotations

import subprocess
import sys

import botocore.session
from botocore.config import Config

from tests.written_tables import WrittenTables, tables_written


def test_every_kind_of_write_names_its_tables_and_reads_name_none() -> None:
    assert tables_written("PutItem", {"TableName": "a"}) == {"a"}
    assert tables_written("UpdateItem", {"TableName": "a"}) == {"a"}
    assert tables_written("DeleteItem", {"TableName": "a"}) == {"a"}
    assert tables_written("BatchWriteItem", {"RequestItems": {"a": [], "b": []}}) == {"a", "b"}
    assert tables_written("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}}, {"ConditionCheck": {"TableName": "c"}},
        {"Delete": {"TableName": "d"}}]}) == {"a", "b", "c", "d"}
    assert tables_written("ExecuteStatement", {"Statement": "INSERT INTO a VALUE {}"}) is None
    assert tables_written("Query", {"TableName": "a"}) == tables_written("Scan", {"TableName": "a"}) == set()


def test_a_call_through_any_botocore_client_and_a_child_process_are_seen() -> None:
    watching = WrittenTables()
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))
    watching.install()
    try:
        try:
            client.put_item(TableName="t-submissions", Item={"form": {"S": "contact"}})
        except Exception:  # noqa: BLE001 (nothing listens on port 9: the write was still attempted)
            pass
        assert watching.take() == {"t-submissions"}
        assert watching.take() == set()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        assert watching.take() is None  # a child's writes cannot be seen: every table counts as written
    finally:
        watching.uninstall()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert watching.take() == set()
