"""What the gift service needs from a gift store (DynamoDB, or the in-memory one of the unit tests)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from chalicelib.core.errors import StoreUnavailableError
from chalicelib.gifts.model import Gift, GiftEvent, NewGift, PromiseResult


class StoreBusyError(StoreUnavailableError):
    """Concurrent writers kept conflicting with this change until the store gave up; nothing was written."""


class GiftStore(Protocol):
    """Gifts, their code pools, stock counters and wrong-link counts.

    Every change is all-or-nothing. Methods raise ConditionFailedError (only `claim` and `transition`: the gift
    was not in the state read, or the expiry condition failed), StoreBusyError and StoreUnavailableError.
    """

    def add_codes(self, campaign: str, codes: Iterable[tuple[str, str]], now: datetime) -> tuple[int, list[str]]:
        """Add (normalised, display) codes; returns how many were added and which already existed."""
        ...

    def codes_of(self, campaign: str) -> Iterator[tuple[str, str, str | None]]:
        """(code, display, gift id) of every code of a campaign."""
        ...

    def stock(self, campaign: str) -> dict[str, int]:
        """The campaign's counters: loaded, available and one per state."""
        ...

    def respondent_gift(self, campaign: str, respondent: str) -> Gift | None:
        """The gift a respondent already holds in a campaign, if any."""
        ...

    def promise(self, new: NewGift) -> PromiseResult:
        """Record a promised gift (no code) for the respondent, atomically; their earlier gift if they have one."""
        ...

    def claim(self, gift: Gift, now: datetime, expires_at: datetime | None) -> Gift | None:
        """Take one available code for a promised gift (promised -> claimed, with `expires_at`), atomically;
        None when the pool has no code left. ConditionFailedError when the gift is no longer promised or
        its link expired."""
        ...

    def gift(self, gift_id: str) -> Gift | None:
        """One gift, read consistently, or None."""
        ...

    def gift_of_code(self, code: str) -> tuple[str, str | None] | None:
        """(campaign, gift id or None) of a normalised code, or None when no campaign has it."""
        ...

    def transition(self, gift: Gift, to: str, now: datetime, actor: str, *, expiry: str | None = None) -> Gift:
        """Move a gift from the state read to `to` with counters and an audit event; `expiry` is "unexpired"
        (not past expires_at) or "expired" (past it). ConditionFailedError when a condition fails."""
        ...

    def history(self, gift_id: str) -> list[GiftEvent]:
        """A gift's audit events, oldest first."""
        ...

    def gifts_of(self, campaign: str) -> Iterator[Gift]:
        """Every gift of a campaign (for sweeps and tools, not for requests)."""
        ...

    def count_wrong_link(self, client: str, window: str, limit: int, expires: datetime) -> bool:
        """Count one link of this client that opened nothing, unless the window already holds `limit`;
        False means the limit is reached."""
        ...
