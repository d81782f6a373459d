"""What the gift service needs from a gift store (DynamoDB, or the in-memory one of the unit tests)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from chalicelib.core.errors import StoreUnavailableError
from chalicelib.gifts.model import Gift, GiftEvent, IssueResult, NewGift


class StoreBusyError(StoreUnavailableError):
    """Concurrent writers kept conflicting with this change until the store gave up; nothing was written."""


class GiftStore(Protocol):
    """Gifts, their code pools, stock counters and wrong-token counts.

    Every change is all-or-nothing. Methods raise ConditionFailedError (only `transition`: the gift was not in
    the state read, or the expiry condition failed), StoreBusyError and StoreUnavailableError.
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

    def issue(self, new: NewGift) -> IssueResult:
        """Give the respondent one available code, atomically; the same gift again if they already have one."""
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

    def wrong_tokens(self, gift_id: str, window: str) -> int:
        """How many wrong tokens this gift received in this window."""
        ...

    def count_wrong_token(self, gift_id: str, window: str, limit: int, expires: datetime) -> bool:
        """Count one wrong token unless the window already holds `limit`; False means the limit is reached."""
        ...
