"""The gift entities every store and service shares: a gift, what promising it decides, its audit trail."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

# Codes are spread over shards so that concurrent issuers rarely pick, or count on, the same item.
SHARDS = 16
# promised: a link was sent, no code is taken yet (the claim takes one). issued: a code was taken when the
# answer was stored, as gifts handed out before claims took the codes were; it is claimed like a promise.
STATES = ("promised", "issued", "claimed", "redeemed", "expired", "revoked")
# The states in which a gift still waits for its respondent to open the link.
UNCLAIMED = ("promised", "issued")
COUNTERS = ("loaded", "available", *STATES)
# When a gift enters a state, this field records the moment.
STAMPS = {"claimed": "claimed_at", "redeemed": "redeemed_at", "expired": "ended_at", "revoked": "ended_at"}


@dataclass(frozen=True)
class Gift:
    """A gift as the rest of Formloop sees it."""

    id: str
    campaign: str
    code: str | None  # None while promised: the claim takes the code
    display: str | None
    shard: int  # the code's shard; while promised, the shard whose counter counts the promise
    state: str
    token_hash: str
    respondent: str
    issued_at: datetime
    expires_at: datetime | None = None
    form: str | None = None
    submission_id: str | None = None
    language: str | None = None
    claimed_at: datetime | None = None
    redeemed_at: datetime | None = None
    redeemed_by: str | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class NewGift:
    """What the domain decides about a promised gift: no code yet, the claim takes one."""

    id: str
    campaign: str
    respondent: str
    token_hash: str
    issued_at: datetime
    expires_at: datetime | None = None
    form: str | None = None
    submission_id: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class PromiseResult:
    """The respondent's gift: promised just now (`created`), or the one promised or issued earlier."""

    gift: Gift
    created: bool


@dataclass(frozen=True)
class GiftEvent:
    """One line of a gift's audit trail."""

    event: str
    from_state: str | None
    at: datetime
    actor: str


def shard_of(code: str) -> int:
    """The shard a normalised code belongs to (stable, spreads any code format evenly)."""
    return hashlib.sha256(code.encode("utf-8")).digest()[0] % SHARDS


def epoch_seconds(moment: datetime | None) -> int | None:
    """A moment as whole epoch seconds, the precision at which stores compare expiry."""
    return int(moment.timestamp()) if moment else None
