"""The submissions table's sparse indexes by address: what export and erasure by address read instead of the table.

Each submission with a respondent address carries its normalised form (`address`), and one whose `_replyto`
reaches another mailbox carries that too (`reply_address`); each attribute is the key of its own global secondary
index, sorted by id. An item without the attribute is not in the index, so a request reads only the submissions
of that one address, however large the table. The indexes project keys only: the submission itself is read by
its key, consistently, so the answer never shows what an index lags behind on.

The attributes themselves are worked out in items.py, with the item a plain post writes. They hold nothing the
item does not already hold in clear (`respondent_email`, `reply_to`, and the answers), and go with it when it is
deleted. A keyed hash would hide nothing more and would tie the index to a
secret whose rotation would lose it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.core.errors import StoreUnavailableError

from .base import error_code
from .items import ADDRESS_INDEXES, address_attributes


def address_index(name: str) -> GlobalSecondaryIndex[Any]:
    """A sparse, keys-only global secondary index on one address attribute, sorted by submission id."""
    attribute, _ = ADDRESS_INDEXES[name]
    meta = type("Meta", (), {"index_name": name, "projection": KeysOnlyProjection()})
    index = type(f"Index_{attribute}", (GlobalSecondaryIndex,), {
        "Meta": meta, attribute: UnicodeAttribute(hash_key=True), "id": UnicodeAttribute(range_key=True)})
    return index()  # type: ignore[no-any-return]


def index_named(model: Any, name: str) -> Any:
    """The index object of a bound model by its DynamoDB name."""
    return next(index for index in model._indexes.values() if index.Meta.index_name == name)


def keys_by_address(model: Any, name: str, key: str, start: tuple[str, str] | None,
                    limit: int) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """Up to `limit` (form, id) keys under `key` in the index `name`, oldest first, from `start` on; the next start."""
    attribute, _ = ADDRESS_INDEXES[name]
    exclusive = {attribute: {"S": key}, "form": {"S": start[0]}, "id": {"S": start[1]}} if start else None
    try:
        found = index_named(model, name).query(key, limit=limit, last_evaluated_key=exclusive)
        keys = [(record.form, record.id) for record in found]
        last = found.last_evaluated_key
    except PynamoDBException as exc:
        raise StoreUnavailableError(f"the submissions by address could not be read: {exc}") from exc
    return keys, ((last["form"]["S"], last["id"]["S"]) if last else None)


def read_by_keys(model: Any, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """The records of these keys that still exist, in the order of `keys` (a consistent batch read)."""
    if not keys:
        return []
    try:
        records = {(record.form, record.id): record for record in model.batch_get(list(keys), consistent_read=True)}
    except PynamoDBException as exc:
        raise StoreUnavailableError(f"the submissions could not be read: {exc}") from exc
    return [records[key] for key in keys if key in records]


def backfill_page(model: Any, start: tuple[str, str] | None,
                  limit: int) -> tuple[int, int, tuple[str, str] | None]:
    """Give the submissions of one scanned page the index attributes they lack: (read, updated, next start).

    Safe to repeat and to resume from any start: an item that has its attributes is left alone, and an update
    is conditioned on the item still existing (an erasure meanwhile is not undone).
    """
    wanted = ["form", "id", "respondent_email", "reply_to", "address", "reply_address"]
    exclusive = {"form": {"S": start[0]}, "id": {"S": start[1]}} if start else None
    updated = 0
    try:
        found = model.scan(limit=limit, consistent_read=True, last_evaluated_key=exclusive, attributes_to_get=wanted)
        records = list(found)
        last = found.last_evaluated_key
        for record in records:
            attributes = address_attributes(record.respondent_email, record.reply_to)
            if all(getattr(record, name) == attributes.get(name) for name in ("address", "reply_address")):
                continue
            actions = [getattr(model, name).set(value) for name, value in attributes.items()]
            actions += [getattr(model, name).remove() for name in ("address", "reply_address")
                        if name not in attributes and getattr(record, name) is not None]
            try:
                record.update(actions=actions, condition=model.id.exists())
                updated += 1
            except PynamoDBException as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise  # gone meanwhile is fine; anything else stops the page (resume from its start)
    except PynamoDBException as exc:
        raise StoreUnavailableError(f"the submissions could not be indexed by address: {exc}") from exc
    return len(records), updated, ((last["form"]["S"], last["id"]["S"]) if last else None)
