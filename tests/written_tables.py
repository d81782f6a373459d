"""The DynamoDB tables written since the last look, so that a test's fresh tables cost a scan of only those.

Every botocore call in this process passes through `BaseClient._make_api_call`, and a write names its tables
there. A child process's writes cannot be seen from here, so a test that starts one counts as having written
every table; so does a PartiQL statement, whose table is inside its text.
"""
from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient

# Operations that add, change or remove items, or a whole table, named by `TableName`.
NAMED = {"PutItem", "UpdateItem", "DeleteItem", "CreateTable", "DeleteTable", "UpdateTable"}
# Operations whose tables cannot be read from their parameters.
UNKNOWN = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction", "ImportTable",
           "RestoreTableFromBackup", "RestoreTableToPointInTime"}


def tables_written(operation: str, params: dict[str, Any]) -> set[str] | None:
    """The tables one call may write: none for a read, None when it could be any."""
    if operation in NAMED:
        return {str(params.get("TableName"))}
    if operation == "BatchWriteItem":
        return set(params.get("RequestItems", {}))
    if operation == "TransactWriteItems":
        return {str(action["TableName"]) for item in params.get("TransactItems", []) for action in item.values()
                if isinstance(action, dict) and "TableName" in action}
    if operation in UNKNOWN:
        return None
    return set()


class WrittenTables:
    """Records, from install() to uninstall(), which tables this process (or a child of it) may have written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: set[str] = set()
        self._everything = False
        self._undo: list[Callable[[], None]] = []

    def _saw(self, names: set[str] | None) -> None:
        with self._lock:
            if names is None:
                self._everything = True
            else:
                self._names |= names

    def take(self) -> set[str] | None:
        """The tables written since the last take (None: any of them), and start counting afresh."""
        with self._lock:
            names, everything = self._names, self._everything
            self._names, self._everything = set(), False
        return None if everything else names

    def install(self) -> None:
        """Start watching every botocore call and every child process started through `subprocess`."""
        recorder = self
        api_call = BaseClient._make_api_call
        popen_init = subprocess.Popen.__init__

        def watched_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            recorder._saw(tables_written(operation, params))  # before the call: a failed write may have landed
            return api_call(client, operation, params)

        def watched_child(process: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
            recorder._saw(None)
            popen_init(process, *args, **kwargs)

        BaseClient._make_api_call = watched_call  # type: ignore[method-assign]
        subprocess.Popen.__init__ = watched_child  # type: ignore[method-assign,assignment]

        def undo() -> None:
            BaseClient._make_api_call = api_call  # type: ignore[method-assign]
            subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign]
        self._undo.append(undo)

    def uninstall(self) -> None:
        """Stop watching."""
        while self._undo:
            self._undo.pop()()
