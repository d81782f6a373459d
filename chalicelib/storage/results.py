"""Survey result counters in DynamoDB: a few items per form, updated once per submission.

Each form has one counter item, and one item per free-text question holding its latest answers.
A submission adds to the counters in one TransactWriteItems together with a marker item keyed by
the submission id (written only if absent), so a redelivered stream record counts once. Reading
results is one BatchGetItem of those few items: it costs the same for a hundred submissions as
for a million (no Query over the form's partition, which grows with every submission).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError
from chalicelib.reporting.model import LATEST_TEXTS, Contribution, StoredResults, TextAnswer

from .base import bind_model, connection_for, error_code

COUNTERS = "counters"
TEXTS = "texts#"  # + question name
_ATTEMPTS = 8  # optimistic retries of one text item before the stream redelivers the record


class ResultRecord(Model):
    """An item of a form's results: its counters, latest texts of one question, or a per-submission marker."""

    class Meta:
        table_name = "unbound-results"

    form = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # "counters" | "texts#<question>" | "m#<submission>"
    expires_at = TTLAttribute(null=True)


def _number(value: Any) -> int | Decimal:
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else amount


def _unavailable(what: str) -> StoreUnavailableError:
    return StoreUnavailableError(f"results could not be {what}")


def _entry(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": item["id"]["S"], "text": item["text"]["S"], "at": int(item["at"]["N"]),
            "expires": int(item["expires"]["N"])}


def _wire(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"M": {"id": {"S": entry["id"]}, "text": {"S": entry["text"]}, "at": {"N": str(entry["at"])},
                  "expires": {"N": str(entry["expires"])}}}


class ResultStore:
    """Reads and updates result items; updates are idempotent per submission."""

    def __init__(self, settings: Settings, latest: int = LATEST_TEXTS) -> None:
        self.settings = settings
        self.latest = latest
        self.results: type[ResultRecord] = bind_model(ResultRecord, settings, "results")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.results]


    @property
    def table_name(self) -> str:
        return self.settings.table_name("results")

    def _connection(self) -> Connection:
        return connection_for(self.settings)

    def _call(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        return dict(self._connection().dispatch(operation, {"TableName": self.table_name, **kwargs}))

    def add(self, contribution: Contribution) -> bool:
        """Count a submission once; False if it was already counted (a redelivered record).

        Texts go first: they are idempotent by submission id, so if the counters' transaction then
        fails, the redelivered record finds them in place and still counts.
        """
        expires = contribution.created_at + timedelta(days=contribution.retention_days)
        for question, text in contribution.texts.items():
            self._add_text(contribution.form, question, {
                "id": contribution.submission_id, "text": text,
                "at": int(contribution.created_at.timestamp()), "expires": int(expires.timestamp())})
        form = {"S": contribution.form}
        marker = {
            "TableName": self.table_name,
            "Item": {"form": form, "key": {"S": f"m#{contribution.submission_id}"},
                     "expires_at": {"N": str(int(expires.timestamp()))}},
            "ConditionExpression": "attribute_not_exists(#k)",
            "ExpressionAttributeNames": {"#k": "key"},
        }
        try:
            self._connection().transact_write_items(condition_check_items=[], delete_items=[], put_items=[marker],
                                                    update_items=self._counter_updates(contribution, 1))
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if error_code(exc) == "TransactionCanceledException" else []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            raise _unavailable("updated") from exc
        return True

    def _counter_updates(self, contribution: Contribution, sign: int) -> list[dict[str, Any]]:
        """The one ADD to the form's counter item that adds (sign 1) or subtracts (-1) a submission's counts."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: list[str] = []
        for index, (name, amount) in enumerate(sorted(contribution.counts.items())):
            names[f"#c{index}"] = name
            values[f":c{index}"] = {"N": str(sign * amount)}
            clauses.append(f"#c{index} :c{index}")
        if not clauses:
            return []
        return [{
            "TableName": self.table_name, "Key": {"form": {"S": contribution.form}, "key": {"S": COUNTERS}},
            "UpdateExpression": "ADD " + ", ".join(clauses),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }]

    def remove(self, contribution: Contribution) -> bool:
        """Take a deleted submission out of its form's results; False if it was never counted.

        One transaction: the submission's marker is deleted (only if present) and its counts subtracted,
        so a repeated removal subtracts nothing; then its free-text answers leave the latest lists.
        """
        form = {"S": contribution.form}
        marker = {
            "TableName": self.table_name, "Key": {"form": form, "key": {"S": f"m#{contribution.submission_id}"}},
            "ConditionExpression": "attribute_exists(#k)", "ExpressionAttributeNames": {"#k": "key"},
        }
        try:
            self._connection().transact_write_items(condition_check_items=[], delete_items=[marker], put_items=[],
                                                    update_items=self._counter_updates(contribution, -1))
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if error_code(exc) == "TransactionCanceledException" else []
            if not (reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed"):
                raise _unavailable("updated") from exc
            counted = False
        else:
            counted = True
        for question in contribution.texts:
            self._remove_text(contribution.form, question, contribution.submission_id)
        return counted

    def _remove_text(self, form: str, question: str, submission_id: str) -> None:
        """Take one submission's answer out of a question's latest-texts item."""
        def without(entries: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
            kept = [e for e in entries if e["id"] != submission_id]
            return kept if len(kept) < len(entries) else None

        self._edit_texts(form, question, without)

    def _add_text(self, form: str, question: str, entry: dict[str, Any]) -> None:
        """Put one answer into a question's latest-texts item."""
        def with_entry(entries: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
            if any(e["id"] == entry["id"] for e in entries):
                return None  # already there: a redelivered record
            # Submission ids sort by time, so the newest answers are the highest ids.
            kept = sorted([*entries, entry], key=lambda e: str(e["id"]), reverse=True)[:self.latest]
            return kept if entry in kept else None  # None: older than every answer kept

        self._edit_texts(form, question, with_entry)

    def _edit_texts(self, form: str, question: str,
                    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]) -> None:
        """Rewrite a question's latest-texts item with `edit` (None: leave it as it is), optimistic: conditioned
        on the version read, and read again when another submission changed it first."""
        key = {"form": {"S": form}, "key": {"S": TEXTS + question}}
        for attempt in range(_ATTEMPTS):
            try:
                item = self._call("GetItem", {"Key": key, "ConsistentRead": True}).get("Item", {})
                version = int(item.get("version", {}).get("N", "0"))
                edited = edit([_entry(e["M"]) for e in item.get("entries", {}).get("L", [])])
                if edited is None:
                    return
                self._call("PutItem", {
                    "Item": {**key, "entries": {"L": [_wire(e) for e in edited]}, "version": {"N": str(version + 1)}},
                    "ConditionExpression": "attribute_not_exists(#v) OR #v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                })
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise _unavailable("updated") from exc
                time.sleep(0.01 * (attempt + 1))  # another submission updated the item first: read again
            except (PynamoDBException, BotoCoreError) as exc:
                raise _unavailable("updated") from exc
        raise _unavailable("updated")

    def read(self, form: str, text_questions: Iterable[str]) -> StoredResults:
        """The counters and latest texts of a form in one BatchGetItem (a few items, whatever the traffic)."""
        questions = list(text_questions)
        keys = [{"form": {"S": form}, "key": {"S": COUNTERS}}]
        keys += [{"form": {"S": form}, "key": {"S": TEXTS + q}} for q in questions]
        found: list[dict[str, Any]] = []
        try:
            # BatchGetItem takes 100 keys; a form has far fewer free-text questions than that.
            for start in range(0, len(keys), 100):
                pending: dict[str, Any] = {self.table_name: {"Keys": keys[start:start + 100], "ConsistentRead": True}}
                for _ in range(5):
                    answer = self._connection().dispatch("BatchGetItem", {"RequestItems": pending})
                    found += answer.get("Responses", {}).get(self.table_name, [])
                    pending = answer.get("UnprocessedKeys") or {}
                    if not pending:
                        break
                if pending:
                    raise _unavailable("read")
        except (PynamoDBException, BotoCoreError, ClientError) as exc:
            raise _unavailable("read") from exc
        counters: dict[str, int | Decimal] = {}
        texts: dict[str, list[TextAnswer]] = {q: [] for q in questions}
        now = time.time()
        for item in found:
            key = item["key"]["S"]
            if key == COUNTERS:
                counters = {name: _number(value["N"]) for name, value in item.items() if "N" in value}
            elif key.startswith(TEXTS) and key[len(TEXTS):] in texts:
                entries = [_entry(e["M"]) for e in item.get("entries", {}).get("L", [])]
                # An answer past its form's retention is no longer shown, like the submission it came from.
                texts[key[len(TEXTS):]] = [TextAnswer(e["id"], e["text"], datetime.fromtimestamp(e["at"], UTC))
                                           for e in entries if e["expires"] > now]
        return StoredResults(counters, texts)

    def put_results(self, form: str, counts: Mapping[str, int | Decimal],
                    texts: Mapping[str, list[dict[str, Any]]]) -> None:
        """Overwrite a form's result items (for seeding benchmarks and rebuilds, not for traffic)."""
        item: dict[str, Any] = {"form": {"S": form}, "key": {"S": COUNTERS}}
        item.update({name: {"N": str(amount)} for name, amount in counts.items()})
        self._call("PutItem", {"Item": item})
        for question, entries in texts.items():
            self._call("PutItem", {"Item": {"form": {"S": form}, "key": {"S": TEXTS + question},
                                            "entries": {"L": [_wire(e) for e in entries]}, "version": {"N": "1"}}})
