"""Gift campaigns held in memory: the same behaviour as the DynamoDB store, for unit tests and local tools.

One lock makes every change all-or-nothing, as one TransactWriteItems does in DynamoDB: a respondent is promised
one gift per campaign, a claim takes one code for one promised gift, the stock counters move with the codes
and gifts.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from chalicelib.core.errors import ConditionFailedError
from chalicelib.gifts.model import (
    COUNTERS,
    SHARDS,
    STAMPS,
    Gift,
    GiftEvent,
    NewGift,
    PromiseResult,
    epoch_seconds,
    shard_of,
)
from chalicelib.gifts.store import StoreBusyError


@dataclass
class _Code:
    campaign: str
    display: str
    gift_id: str | None = None


class MemoryGiftStore:
    """Gifts, code pools, stock and wrong-link counts in dictionaries, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._codes: dict[str, _Code] = {}  # normalised code -> its campaign and gift (unique across campaigns)
        self._holders: dict[tuple[str, str], str] = {}  # (campaign, respondent) -> gift id
        self._gifts: dict[str, Gift] = {}
        self._events: dict[str, list[GiftEvent]] = {}
        self._stock: dict[tuple[str, int], dict[str, int]] = {}  # (campaign, shard) -> counters
        self._wrong: dict[str, int] = {}  # "<client>#<window>" -> links that opened nothing

    # --- codes and stock ---------------------------------------------------------------------------------

    def add_codes(self, campaign: str, codes: Iterable[tuple[str, str]], now: datetime) -> tuple[int, list[str]]:
        """Add (normalised, display) codes; returns how many were added and which already existed."""
        added, existing = 0, []
        with self._lock:
            for code, display in codes:
                if code in self._codes:
                    existing.append(code)
                    continue
                self._codes[code] = _Code(campaign, display)
                self._count(campaign, shard_of(code), loaded=1, available=1)
                added += 1
        return added, sorted(existing)

    def codes_of(self, campaign: str) -> Iterator[tuple[str, str, str | None]]:
        """(code, display, gift id) of every code of a campaign."""
        with self._lock:
            found = [(code, c.display, c.gift_id) for code, c in self._codes.items() if c.campaign == campaign]
        return iter(found)

    def stock(self, campaign: str) -> dict[str, int]:
        """The campaign's counters summed over its shards."""
        totals = dict.fromkeys(COUNTERS, 0)
        with self._lock:
            for (owner, _), row in self._stock.items():
                if owner == campaign:
                    for name in COUNTERS:
                        totals[name] += row[name]
        return totals

    def _count(self, campaign: str, shard: int, **changes: int) -> None:
        row = self._stock.setdefault((campaign, shard), dict.fromkeys(COUNTERS, 0))
        for name, amount in changes.items():
            row[name] += amount

    # --- issuing -----------------------------------------------------------------------------------------

    def respondent_gift(self, campaign: str, respondent: str) -> Gift | None:
        """The gift a respondent already holds in a campaign, if any."""
        with self._lock:
            gift_id = self._holders.get((campaign, respondent))
            return self._gifts.get(gift_id) if gift_id else None

    def promise(self, new: NewGift) -> PromiseResult:
        """Record a promised gift (no code) for the respondent; their earlier gift if they already have one."""
        with self._lock:
            earlier = self.respondent_gift(new.campaign, new.respondent)
            if earlier is not None:
                return PromiseResult(earlier, created=False)
            if new.id in self._gifts:  # DynamoDB's condition on the gift id refuses it, and retries give up
                raise StoreBusyError(f"gift id {new.id} is taken")
            expires = epoch_seconds(new.expires_at)
            # Stored at the precision DynamoDB keeps (epoch seconds), so both stores answer alike.
            gift = Gift(id=new.id, campaign=new.campaign, code=None, display=None, shard=random.randrange(SHARDS),
                        state="promised", token_hash=new.token_hash, respondent=new.respondent,
                        issued_at=new.issued_at,
                        expires_at=datetime.fromtimestamp(expires, UTC) if expires is not None else None,
                        form=new.form, submission_id=new.submission_id, language=new.language)
            self._holders[(new.campaign, new.respondent)] = new.id
            self._gifts[new.id] = gift
            self._events[new.id] = [GiftEvent("promised", None, new.issued_at, "formloop")]
            self._count(new.campaign, gift.shard, promised=1)
            return PromiseResult(gift, created=True)

    def claim(self, gift: Gift, now: datetime, expires_at: datetime | None) -> Gift | None:
        """Take one available code for a promised gift (promised -> claimed); None when none is left."""
        with self._lock:
            stored = self._gifts.get(gift.id)
            if stored is None or stored.state != "promised" or not _expiry_holds(stored, now, "unexpired"):
                raise ConditionFailedError(f"gift {gift.id}: no longer promised, or its link expired")
            available = [code for code, c in self._codes.items() if c.campaign == stored.campaign and c.gift_id is None]
            if not available:
                return None
            code = random.choice(available)
            ends = epoch_seconds(expires_at)
            claimed = replace(stored, code=code, display=self._codes[code].display, shard=shard_of(code),
                              state="claimed", claimed_at=now,
                              expires_at=datetime.fromtimestamp(ends, UTC) if ends is not None else None)
            self._codes[code].gift_id = gift.id
            self._gifts[gift.id] = claimed
            self._events[gift.id].append(GiftEvent("claimed", "promised", now, "respondent"))
            self._count(stored.campaign, stored.shard, promised=-1)
            self._count(stored.campaign, claimed.shard, available=-1, claimed=1)
            return claimed

    # --- reading and changing gifts ----------------------------------------------------------------------

    def gift(self, gift_id: str) -> Gift | None:
        """One gift, or None."""
        with self._lock:
            return self._gifts.get(gift_id)

    def gift_of_code(self, code: str) -> tuple[str, str | None] | None:
        """(campaign, gift id or None) of a normalised code, or None when no campaign has it."""
        with self._lock:
            found = self._codes.get(code)
            return (found.campaign, found.gift_id) if found else None

    def transition(self, gift: Gift, to: str, now: datetime, actor: str, *, expiry: str | None = None) -> Gift:
        """Move a gift from the state read to `to`, with counters and an audit event, all at once.

        `expiry` adds a condition: "unexpired" (not past expires_at) or "expired" (past it), compared in
        epoch seconds as DynamoDB does. Raises ConditionFailedError when a condition fails.
        """
        with self._lock:
            stored = self._gifts.get(gift.id)
            if stored is None or stored.state != gift.state or not _expiry_holds(stored, now, expiry):
                raise ConditionFailedError(f"gift {gift.id}: state or expiry changed")
            changes: dict[str, object] = {"state": to, STAMPS[to]: now}
            if to == "redeemed":
                changes["redeemed_by"] = actor
            changed = replace(stored, **changes)  # type: ignore[arg-type]
            self._gifts[gift.id] = changed
            self._events[gift.id].append(GiftEvent(to, stored.state, now, actor))
            self._count(stored.campaign, stored.shard, **{stored.state: -1, to: 1})
            return changed

    def history(self, gift_id: str) -> list[GiftEvent]:
        """A gift's audit events, oldest first."""
        with self._lock:
            return list(self._events.get(gift_id, []))

    def gifts_of(self, campaign: str) -> Iterator[Gift]:
        """Every gift of a campaign."""
        with self._lock:
            found = [gift for gift in self._gifts.values() if gift.campaign == campaign]
        return iter(found)

    # --- wrong-token rate limit --------------------------------------------------------------------------

    def count_wrong_link(self, client: str, window: str, limit: int, expires: datetime) -> bool:
        """Count one link of this client that opened nothing unless the window holds `limit`; False at the limit."""
        key = f"{client}#{window}"
        with self._lock:
            if self._wrong.get(key, 0) >= limit:
                return False
            self._wrong[key] = self._wrong.get(key, 0) + 1
            return True


def _expiry_holds(gift: Gift, now: datetime, expiry: str | None) -> bool:
    moment = epoch_seconds(now) or 0
    ends = epoch_seconds(gift.expires_at)
    if expiry == "unexpired":
        return ends is None or ends > moment
    if expiry == "expired":
        return ends is not None and ends <= moment
    return True
