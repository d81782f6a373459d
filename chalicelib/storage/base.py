"""Binding PynamoDB models to a deployment's tables, endpoint and retry policy."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model

from ..config import Settings


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
    return type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})



def connection_for(settings: Settings) -> Connection:
    """A low-level connection (for transactions) with the same endpoint and retry policy."""
    return Connection(region=settings.region, host=settings.dynamodb_endpoint,
                      max_retry_attempts=settings.storage_retries,
                      connect_timeout_seconds=settings.storage_timeout_seconds,
                      read_timeout_seconds=settings.storage_timeout_seconds)


def create_tables(models: Iterable[type[Model]]) -> None:
    """Create tables (and their TTL) that do not exist yet; safe to call again."""
    for model in models:
        if not model.exists():
            model.create_table(wait=True)
            if any(isinstance(a, TTLAttribute) for a in model.get_attributes().values()):
                model.update_ttl(ignore_update_ttl_errors=True)
