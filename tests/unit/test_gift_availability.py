"""The acknowledgement's per-process view of the codes a campaign has left (chalicelib/gifts/availability.py)."""
from __future__ import annotations

from chalicelib.gifts.availability import FRESH_SECONDS, AvailableCodes


class Counters:
    """Stock counters that say how often they were read."""

    def __init__(self, left: int) -> None:
        self.left, self.reads, self.now = left, 0, 100.0

    def read(self, campaign: str) -> int:
        self.reads += 1
        return self.left


def test_a_recent_count_with_codes_left_is_trusted_and_a_stale_one_is_read_again() -> None:
    counters = Counters(2)
    codes = AvailableCodes(counters.read, monotonic=lambda: counters.now)
    assert codes.any_left("c") and codes.any_left("c") and counters.reads == 1
    counters.now += FRESH_SECONDS
    counters.left = 0
    assert not codes.any_left("c") and counters.reads == 2


def test_an_empty_pool_is_read_every_time_so_new_codes_show_at_once() -> None:
    counters = Counters(0)
    codes = AvailableCodes(counters.read, monotonic=lambda: counters.now)
    assert not codes.any_left("c") and not codes.any_left("c") and counters.reads == 2
    counters.left = 5
    assert codes.any_left("c")


def test_this_process_claims_count_down_and_a_forgotten_count_is_read_again() -> None:
    counters = Counters(2)
    codes = AvailableCodes(counters.read, monotonic=lambda: counters.now)
    assert codes.any_left("c")
    codes.taken("c")
    assert codes.any_left("c") and counters.reads == 1
    codes.taken("c")
    counters.left = 0
    assert not codes.any_left("c") and counters.reads == 2
    counters.left = 1
    codes.forget("c")
    codes.taken("other")  # a campaign never read is left alone
    assert codes.any_left("c") and counters.reads == 3
