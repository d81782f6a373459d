"""Survey result counters in DynamoDB: one counter item per form, updated once per submission.

Every submission adds to the counters in one TransactWriteItems together with a marker item
keyed by the submission id (written only if absent), so a redelivered stream record counts once.
Reading results is one GetItem plus one short Query per free-text question: it costs the same
for a hundred submissions as for a million.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model

from ..config import Settings
from ..errors import StorageUnavailableError
from .base import bind_model, connection_for, create_tables

COUNTERS = "counters"
# DynamoDB allows 100 items per transaction: the marker, the counters and up to 98 text answers.
MAX_TEXT_ITEMS = 98


class ResultRecord(Model):
    """An item of a form's results: its counters, a per-submission marker, or one free-text answer."""

    class Meta:
        table_name = "unbound-results"

    form = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # "counters" | "m#<submission>" | "t#<question>#<submission>"
    text = UnicodeAttribute(null=True)
    submission_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


@dataclass(frozen=True)
class Contribution:
    """What one submission adds to its form's results."""

    form: str
    submission_id: str
    created_at: datetime
    counts: dict[str, int | Decimal]  # counter name -> amount to add
    texts: dict[str, str] = field(default_factory=dict)  # question -> free-text answer
    retention_days: int = 365


@dataclass(frozen=True)
class TextAnswer:
    """One free-text answer, for the latest-first list."""

    submission_id: str
    text: str
    created_at: datetime


def _number(value: Any) -> int | Decimal:
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else amount


class ResultStore:
    """Reads and updates result counters; updates are idempotent per submission."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.results: type[ResultRecord] = bind_model(ResultRecord, settings, "results")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.results]

    def create_tables(self) -> None:
        """Create the results table (and its TTL) if it does not exist; safe to call again."""
        create_tables(self.models)

    @property
    def table_name(self) -> str:
        return self.settings.table_name("results")

    def _connection(self) -> Connection:
        return connection_for(self.settings)

    def add(self, contribution: Contribution) -> bool:
        """Count a submission once; False if it was already counted (a redelivered record)."""
        expires = contribution.created_at + timedelta(days=contribution.retention_days)
        ttl = {"N": str(int(expires.timestamp()))}
        form = {"S": contribution.form}
        marker = {
            "TableName": self.table_name,
            "Item": {"form": form, "key": {"S": f"m#{contribution.submission_id}"}, "expires_at": ttl},
            "ConditionExpression": "attribute_not_exists(#k)",
            "ExpressionAttributeNames": {"#k": "key"},
        }
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: list[str] = []
        for index, (name, amount) in enumerate(sorted(contribution.counts.items())):
            names[f"#c{index}"] = name
            values[f":c{index}"] = {"N": str(amount)}
            clauses.append(f"#c{index} :c{index}")
        updates = []
        if clauses:
            updates.append({
                "TableName": self.table_name, "Key": {"form": form, "key": {"S": COUNTERS}},
                "UpdateExpression": "ADD " + ", ".join(clauses),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            })
        created = {"N": str(int(contribution.created_at.timestamp()))}
        texts = [{
            "TableName": self.table_name,
            "Item": {"form": form, "key": {"S": f"t#{question}#{contribution.submission_id}"},
                     "text": {"S": text}, "submission_id": {"S": contribution.submission_id},
                     "created_at": created, "expires_at": ttl},
        } for question, text in list(contribution.texts.items())[:MAX_TEXT_ITEMS]]
        try:
            self._connection().transact_write_items(
                condition_check_items=[], delete_items=[], put_items=[marker, *texts], update_items=updates)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            raise StorageUnavailableError("Results could not be updated just now; the update will be retried.") from exc
        return True

    def counters(self, form: str) -> dict[str, int | Decimal]:
        """Every counter of a form (one item, whatever the number of submissions)."""
        try:
            item = self._connection().dispatch("GetItem", {
                "TableName": self.table_name, "Key": {"form": {"S": form}, "key": {"S": COUNTERS}},
                "ConsistentRead": True}).get("Item", {})
        except (PynamoDBException, BotoCoreError, ClientError) as exc:
            raise StorageUnavailableError("Results cannot be read just now; try again in a few seconds.") from exc
        return {name: _number(value["N"]) for name, value in item.items() if "N" in value}

    def latest_texts(self, form: str, question: str, limit: int) -> list[TextAnswer]:
        """The newest free-text answers to one question (submission ids sort by time)."""
        condition = self.results.key.startswith(f"t#{question}#")
        try:
            records = list(self.results.query(form, condition, scan_index_forward=False, limit=limit,
                                              consistent_read=True))
        except PynamoDBException as exc:
            raise StorageUnavailableError("Results cannot be read just now; try again in a few seconds.") from exc
        return [TextAnswer(r.submission_id or "", r.text or "",
                           datetime.fromtimestamp(int(r.created_at or 0), UTC)) for r in records]

    def put_counters(self, form: str, counts: Mapping[str, int | Decimal]) -> None:
        """Overwrite a form's counters in one write (for seeding benchmarks and rebuilds, not for traffic)."""
        item: dict[str, Any] = {"form": {"S": form}, "key": {"S": COUNTERS}}
        item.update({name: {"N": str(amount)} for name, amount in counts.items()})
        self._connection().dispatch("PutItem", {"TableName": self.table_name, "Item": item})
