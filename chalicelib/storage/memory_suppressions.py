"""The in-memory suppression list of the unit tests: the same keys as the DynamoDB one."""
from __future__ import annotations

from datetime import datetime

from chalicelib.mail.bounces import suppression_key


class MemorySuppressionStore:
    """Suppressed mailboxes in a dict: key -> (reason, since)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, datetime]] = {}

    def suppress(self, address: str, reason: str, now: datetime) -> None:
        """Put an address on the list (again: the newest reason wins)."""
        self.entries[suppression_key(address)] = (reason, now)

    def is_suppressed(self, address: str) -> bool:
        """Whether an address is on the list."""
        return suppression_key(address) in self.entries
