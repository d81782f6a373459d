"""A campaign's pool of codes in DynamoDB: loading codes, the sharded stock counters, and finding a code to take.

Codes are spread over shards; a sparse index lists the available ones per shard in random slot order, so
concurrent claims rarely reach for the same code or the same counter item.
"""
from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.gifts.model import COUNTERS, SHARDS, shard_of

from .gift_records import GiftCodeRecord, GiftStockRecord, backoff, busy, reasons_of, unavailable


class CodePool:
    """The codes and stock counters of every campaign; every change to them is a conditional transaction."""

    def __init__(self, connection: Connection, codes: type[GiftCodeRecord], stock_rows: type[GiftStockRecord],
                 max_attempts: int) -> None:
        self.connection = connection
        self.codes = codes
        self.stock_rows = stock_rows
        self.max_attempts = max_attempts

    # --- loading codes -------------------------------------------------------------------------

    def add_codes(self, campaign: str, codes: Iterable[tuple[str, str]], now: datetime) -> tuple[int, list[str]]:
        """Add (normalised, display) codes; returns how many were added and which already existed."""
        by_shard: dict[int, list[tuple[str, str]]] = {}
        for code, display in codes:
            by_shard.setdefault(shard_of(code), []).append((code, display))
        added, existing = 0, []
        for shard, items in by_shard.items():
            # 99 puts + 1 counter = the 100-item limit of one transaction.
            for start in range(0, len(items), 99):
                batch_added, batch_existing = self._add_batch(campaign, shard, items[start:start + 99], now)
                added += batch_added
                existing += batch_existing
        return added, existing

    def _add_batch(self, campaign: str, shard: int, items: list[tuple[str, str]],
                   now: datetime) -> tuple[int, list[str]]:
        existing: list[str] = []
        for attempt in range(self.max_attempts):
            if not items:
                return 0, existing
            try:
                with TransactWrite(connection=self.connection) as transaction:
                    for code, display in items:
                        record = self.codes(code, campaign=campaign, display=display, shard=shard, loaded_at=now,
                                            pool=f"{campaign}#{shard}", slot=secrets.token_hex(8))
                        transaction.save(record, condition=self.codes.code.does_not_exist())
                    transaction.update(self.stock_rows(campaign, shard), actions=[
                        self.stock_rows.loaded.add(len(items)), self.stock_rows.available.add(len(items))])
                return len(items), existing
            except TransactWriteError as exc:
                reasons = reasons_of(exc)
                failed = {items[i][0] for i, r in enumerate(reasons[:len(items)]) if r == "ConditionalCheckFailed"}
                if not failed and "TransactionConflict" not in reasons:
                    raise unavailable(exc) from exc
                existing += sorted(failed)
                items = [item for item in items if item[0] not in failed]
                backoff(attempt)
            except PynamoDBException as exc:
                raise unavailable(exc) from exc
        raise busy()

    def codes_of(self, campaign: str) -> Iterator[tuple[str, str, str | None]]:
        """(code, display, gift id) of every code of a campaign (a scan: for exports and tools)."""
        try:
            for record in self.codes.scan(self.codes.campaign == campaign, consistent_read=True):
                yield record.code, record.display, record.gift_id
        except PynamoDBException as exc:
            raise unavailable(exc) from exc

    # --- stock -----------------------------------------------------------------------------------

    def shards(self, campaign: str) -> list[GiftStockRecord]:
        """The counter items of a campaign's shards."""
        return list(self.stock_rows.query(campaign, consistent_read=True))

    def stock(self, campaign: str) -> dict[str, int]:
        """The campaign's counters summed over its shards (a fixed number of items, however large the pool)."""
        totals = dict.fromkeys(COUNTERS, 0)
        try:
            for row in self.shards(campaign):
                for name in COUNTERS:
                    totals[name] += int(getattr(row, name) or 0)
        except PynamoDBException as exc:
            raise unavailable(exc) from exc
        return totals

    # --- finding a code --------------------------------------------------------------------------

    def pick(self, campaign: str, tried: set[str], attempt: int) -> tuple[str, str] | None:
        """(code, display) to try: None when the counters say the pool is empty, ("", "") when none can be
        tried just now (all candidates taken meanwhile, or the index not yet caught up)."""
        if attempt == 0:
            # With stock left, a random shard almost always holds codes: skip reading the counters.
            found = self._candidates(campaign, random.randrange(SHARDS), tried)
            if found:
                return random.choice(found)
        rows = [row for row in self.shards(campaign) if (row.available or 0) > 0]
        if not rows:
            return None
        row = random.choices(rows, weights=[int(r.available) for r in rows])[0]
        found = self._candidates(campaign, int(row.shard), tried)
        return random.choice(found) if found else ("", "")

    def _candidates(self, campaign: str, shard: int, tried: set[str]) -> list[tuple[str, str]]:
        pool = f"{campaign}#{shard}"
        # Start at a random slot so that concurrent claims spread over the pool instead of racing for one code.
        start = secrets.token_hex(8)
        found = [(r.code, r.display) for r in self.codes.available.query(pool, self.codes.slot >= start, limit=8)]
        if not found:
            found = [(r.code, r.display) for r in self.codes.available.query(pool, limit=8)]
        return [pair for pair in found if pair[0] not in tried]
