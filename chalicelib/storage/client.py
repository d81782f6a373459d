"""The process's one botocore DynamoDB client per endpoint and policy, shared by PynamoDB and the plain put.

Built as PynamoDB's Connection builds its own (no parameter validation, the deployment's timeouts, botocore's
standard retry mode with the deployment's retries), so a write sent here behaves as one sent through a model.
base.py hands this very client to PynamoDB: a test that fails one fails every write.
"""
from __future__ import annotations

import threading
from typing import Any

from chalicelib.core.config import Settings
from chalicelib.core.errors import StoreUnavailableError

_CLIENTS: dict[tuple[str, str | None, int, int], Any] = {}
_LOCK = threading.Lock()
_POOL_CONNECTIONS = 10  # PynamoDB's default max_pool_connections


def dynamodb_client(settings: Settings) -> Any:
    """The shared botocore client for this deployment's endpoint, retries and timeouts."""
    return client_for(settings.region, settings.dynamodb_endpoint, settings.storage_retries,
                      settings.storage_timeout_seconds)


def client_for(region: str, host: str | None, retries: int, timeout_seconds: int) -> Any:
    """The shared client for one endpoint and policy (built on first use: tens of milliseconds and a connection)."""
    key = (region, host, retries, timeout_seconds)
    client = _CLIENTS.get(key)
    # As PynamoDB does: botocore keeps the credentials it found when the client was built, so a client built while
    # none could be found (an instance metadata hiccup) is built again rather than kept without any for good.
    if client is None or _without_credentials(client):
        with _LOCK:
            client = _CLIENTS.get(key)
            if client is None or _without_credentials(client):
                client = _CLIENTS[key] = _build(region, host, retries, timeout_seconds)
    return client


def _without_credentials(client: Any) -> bool:
    return bool(client._request_signer and not client._request_signer._credentials)


def _build(region: str, host: str | None, retries: int, timeout_seconds: int) -> Any:
    from botocore.config import Config
    from botocore.session import get_session
    config = Config(parameter_validation=False, connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                    max_pool_connections=_POOL_CONNECTIONS,
                    retries={"total_max_attempts": 1 + retries, "mode": "standard"})
    return get_session().create_client("dynamodb", region, endpoint_url=host, config=config)


def put_item(client: Any, table: str, item: dict[str, Any], what: str) -> None:
    """One unconditional PutItem; a failure as StoreUnavailableError saying whether the item may have been written."""
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        client.put_item(TableName=table, Item=item)
    except ClientError as exc:  # DynamoDB answered: nothing was written
        raise StoreUnavailableError(f"{what}: {exc}", maybe_written=False) from exc
    except BotoCoreError as exc:  # no answer (a timeout, a dropped connection): it may have been written
        raise StoreUnavailableError(f"{what}: {exc}", maybe_written=True) from exc
