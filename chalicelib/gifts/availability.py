"""Whether a campaign still has codes to promise, read from its counters at most once a second per process.

Only the acknowledgement asks, to send a link or say kindly that the gifts are gone; the claim itself is what
takes a code, under its own conditions. So a count a second old is good enough, and this process's own claims
and loads keep it current in between.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

# How long a positive count is trusted before the counters are read again.
FRESH_SECONDS = 1.0


class AvailableCodes:
    """A per-process view of how many codes each campaign has left."""

    def __init__(self, read: Callable[[str], int], monotonic: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}  # campaign -> (when read, codes left)

    def any_left(self, campaign: str) -> bool:
        """Whether the campaign has a code left; reads the counters unless a recent count says yes."""
        with self._lock:
            cached = self._counts.get(campaign)
        if cached is not None and cached[1] > 0 and self._monotonic() - cached[0] < FRESH_SECONDS:
            return True
        left = self._read(campaign)
        with self._lock:
            self._counts[campaign] = (self._monotonic(), left)
        return left > 0

    def taken(self, campaign: str) -> None:
        """This process's claim took a code."""
        with self._lock:
            cached = self._counts.get(campaign)
            if cached is not None:
                self._counts[campaign] = (cached[0], cached[1] - 1)

    def forget(self, campaign: str) -> None:
        """The count changed in a way only the counters know (codes loaded, a claim found none): read next time."""
        with self._lock:
            self._counts.pop(campaign, None)
