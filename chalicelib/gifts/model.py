"""The gift entities every store and service shares: a gift, what issuing it decides, its audit trail."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

# Codes are spread over shards so that concurrent issuers rarely pick, or count on, the same item.
SHARDS = 16
STATES = ("issued", "claimed", "redeemed", "expired", "revoked")
COUNTERS = ("loaded", "available", *STATES)
# When a gift enters a state, this field records the moment.
STAMPS = {"claimed": "claimed_at", "redeemed": "redeemed_at", "expired": "ended_at", "revoked": "ended_at"}


@dataclass(frozen=True)
class Gift:
    """A gift as the rest of Formloop sees it."""

    id: str
    campaign: str
    code: str
    display: str
    shard: int
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
    """What the domain decides about a gift before a code is found for it."""

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
class IssueResult:
    """The respondent's gift (new or earlier), or out_of_stock with no gift."""

    gift: Gift | None
    created: bool
    out_of_stock: bool = False


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
