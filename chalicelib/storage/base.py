"""Binding PynamoDB models to a deployment's tables, endpoint and retry policy."""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model

from chalicelib.core.config import Settings
from chalicelib.core.errors import ConditionFailedError, StoreUnavailableError

from .client import client_for


@dataclass(frozen=True)
class ConditionalWrite:
    """One item of a transaction, as the domain's admissions and releases translate to: a conditional update,
    or with no actions a conditional delete."""

    record: Model
    actions: list[Any] | None
    condition: Any


def bind_model(model: type[Model], settings: Settings, concept: str) -> type[Model]:
    """A subclass of `model` bound to this deployment's table, endpoint and retry policy."""
    meta_attrs: dict[str, Any] = {
        "table_name": settings.table_name(concept),
        "region": settings.region,
        "host": settings.dynamodb_endpoint,
        "max_retry_attempts": settings.storage_retries,
        "connect_timeout_seconds": settings.storage_timeout_seconds,
        "read_timeout_seconds": settings.storage_timeout_seconds,
        "billing_mode": "PAY_PER_REQUEST",
    }
    if hasattr(model.Meta, "stream_view_type"):
        meta_attrs["stream_view_type"] = model.Meta.stream_view_type
    meta = type("Meta", (), meta_attrs)
    bound = type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})
    build_table_connection = Model._get_connection.__func__  # type: ignore[attr-defined]

    def _get_connection(cls: type[Model]) -> Any:
        # PynamoDB gives every model class its own botocore session and client (~70 ms each on a cold
        # start, and a TCP connection each); all of Formloop's tables share the process's one instead.
        if cls._connection is None:
            table = build_table_connection(cls)
            shared = connection_for(settings)
            try:
                shared.add_meta_table(table.get_meta_table())
            except ValueError:
                pass  # another model class of the same table (e.g. the listing's) registered it already
            table.connection = shared
        return cls._connection

    bound._get_connection = classmethod(_get_connection)  # type: ignore[assignment,method-assign,attr-defined]
    return bound


def connection_for(settings: Settings) -> Connection:
    """A low-level connection (for transactions) with the same endpoint and retry policy, shared per process."""
    return _shared_connection(settings.region, settings.dynamodb_endpoint, settings.storage_retries,
                              settings.storage_timeout_seconds)


class _SharedClientConnection(Connection):
    """A PynamoDB connection that sends through the process's shared client (client.py), the one a plain post's
    PutItem goes through, instead of building its own."""

    def __init__(self, region: str, host: str | None, retries: int, timeout_seconds: int) -> None:
        super().__init__(region=region, host=host, max_retry_attempts=retries,
                         connect_timeout_seconds=timeout_seconds, read_timeout_seconds=timeout_seconds)
        self._policy = (region, host, retries, timeout_seconds)

    @property
    def client(self) -> Any:
        return client_for(*self._policy)


# Each Connection would build its own botocore session and client on first use (tens of milliseconds, a new
# TCP connection): one per endpoint and policy for the life of the process, never one per request.
@functools.lru_cache(maxsize=8)
def _shared_connection(region: str, host: str | None, retries: int, timeout_seconds: int) -> Connection:
    return _SharedClientConnection(region, host, retries, timeout_seconds)


def botocore_client(model: type[Model]) -> Any:
    """The botocore DynamoDB client a bound model sends through (tests inject faults on it)."""
    return model._get_connection().connection.client


def error_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code (e.g. "ConditionalCheckFailedException"), or None when it never answered.

    Use this rather than PynamoDB's `cause_response_code`, which raises AttributeError on a timeout.
    """
    response = getattr(exc.cause, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def create_tables(models: Iterable[type[Model]]) -> None:
    """Create tables (and their TTL) that do not exist yet; safe to call again."""
    for model in models:
        if not model.exists():
            model.create_table(wait=True)
            if any(isinstance(a, TTLAttribute) for a in model.get_attributes().values()):
                model.update_ttl(ignore_update_ttl_errors=True)


def hash_first(key_schema: list[dict[str, str]]) -> list[dict[str, str]]:
    """A key schema as DynamoDB and CloudFormation want it: HASH, then RANGE (PynamoDB lists keys by name)."""
    return sorted(key_schema, key=lambda key: key["KeyType"] != "HASH")


@contextmanager
def store_errors(record: str, table: str) -> Iterator[None]:
    """Report what DynamoDB refused as a store-level error: a failed condition (also one inside a transaction),
    or the table out of reach. Usable as a decorator: `@store_errors("delivery record", "deliveries table")`."""
    try:
        yield
    except PynamoDBException as exc:
        reasons = exc.cancellation_reasons if isinstance(exc, TransactWriteError) else []
        if error_code(exc) == "ConditionalCheckFailedException" or any(
                reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons):
            raise ConditionFailedError(f"{record} changed meanwhile: {exc}") from exc
        # No answer at all (a timeout, a dropped connection): the write may have been applied.
        raise StoreUnavailableError(f"{table} unreachable: {exc}", maybe_written=error_code(exc) is None) from exc
