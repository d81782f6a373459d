"""DynamoDB storage through PynamoDB: the only package that imports it, one module per concept.

The in-memory stores (memory_*.py) live here too. SubmissionStore is loaded on first use, and itself loads
PynamoDB only when a write needs more than one plain PutItem (submissions.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .submissions import SubmissionStore

__all__ = ["SubmissionStore"]


def __getattr__(name: str) -> Any:
    if name == "SubmissionStore":
        from .submissions import SubmissionStore
        return SubmissionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
