"""Gift links `/g/{gift}?t=TOKEN`: the token, and the per-client limit on links that open nothing.

The right token always opens its gift. Wrong tokens are counted per client, by the hashed source address as
the spam limits count posts, so a guesser slows down only themselves: the gift's owner, from anywhere, still
gets in. An unknown gift id is a plain 404 that stores nothing (96 random bits are not found by guessing).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from datetime import UTC, timedelta

from chalicelib.core.clock import Clock
from chalicelib.core.config import Settings
from chalicelib.core.errors import GiftLinkError, NotFoundError, RateLimitedError
from chalicelib.core.keys import client_hash
from chalicelib.gifts.campaigns import token_hash
from chalicelib.gifts.model import Gift
from chalicelib.gifts.store import GiftStore

GIFT_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
MAX_TOKEN_CHARS = 128
WRONG_LINKS_PER_HOUR = 10
# Requests that carry no source address (tools, tests) share one count.
UNKNOWN_CLIENT = "unknown"
# Bounds on what one process remembers; past them it forgets and asks the store again.
_MEMORY_LIMIT = 50_000


def link_token(settings: Settings, gift_id: str) -> str:
    """The link token of a gift: derived, so a retried email carries the same link; 192 bits."""
    digest = hmac.new(settings.secret("gift_secret").encode("utf-8"), b"formloop-gift-link\0" + gift_id.encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode("ascii")


class LinkGuard:
    """Opens gift links for their owners and makes a client whose links keep opening nothing wait."""

    def __init__(self, settings: Settings, store: GiftStore, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._token_hashes: dict[str, str] = {}
        self._limited: set[tuple[str, str]] = set()

    def client_key(self, source_ip: str | None) -> str:
        """The stored name of a client: its source address hashed with the salt the spam limits use."""
        if not source_ip:
            return UNKNOWN_CLIENT
        return client_hash(self.settings.secret("ip_hash_salt"), source_ip)

    def open(self, gift_id: str, token: str, source_ip: str | None) -> Gift:
        """The gift behind a link; NotFoundError, GiftLinkError or, past the client's limit, RateLimitedError."""
        gift = None
        known = self._token_hashes.get(gift_id)
        if known is None:
            gift = self.store.gift(gift_id) if GIFT_ID.match(gift_id) else None
            if gift is None:
                raise NotFoundError("There is no gift at this address. Please open the link from your email again.")
            # A gift's token hash never changes: remembering it makes each guess cost one counter write only.
            if len(self._token_hashes) > _MEMORY_LIMIT:
                self._token_hashes.clear()
            known = self._token_hashes[gift_id] = gift.token_hash
        presented = token if len(token) <= MAX_TOKEN_CHARS else ""
        if hmac.compare_digest(token_hash(presented), known):
            # No limit applies to the right token: whoever floods wrong ones cannot lock the owner out.
            fresh = gift or self.store.gift(gift_id)
            assert fresh is not None, "a gift is never deleted"
            return fresh
        self._count_wrong(source_ip)
        raise GiftLinkError("This link does not open this gift. Please open it from your email, "
                            "copying the whole address.")

    def _count_wrong(self, source_ip: str | None) -> None:
        """Count a wrong token against its client; RateLimitedError once the hour's limit is used."""
        client = self.client_key(source_ip)
        now = self.clock()
        start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        window, window_end = start.strftime("%Y%m%d%H"), start + timedelta(hours=1)
        retry_after = max(1, math.ceil((window_end - now).total_seconds()))
        limited = RateLimitedError(
            "Too many gift links from your network had a wrong token; please try again in "
            f"{math.ceil(retry_after / 60)} minutes, with the link exactly as it is in your email.",
            retry_after=retry_after)
        # A window's count only grows, so a limit seen once holds until the hour ends: no need to ask again.
        if (client, window) in self._limited:
            raise limited
        if not self.store.count_wrong_link(client, window, WRONG_LINKS_PER_HOUR, window_end + timedelta(hours=1)):
            if len(self._limited) > _MEMORY_LIMIT:
                self._limited.clear()
            self._limited.add((client, window))
            raise limited

