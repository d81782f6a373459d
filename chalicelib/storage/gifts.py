"""Gift campaigns in DynamoDB: promised gifts, claims that take codes, one gift per respondent, audit events.

Every state change is one TransactWriteItems: the gift, the code or respondent key it depends on, the stock
counters it moves and an audit event commit together or not at all. The items are in gift_records.py, the
code pool and its counters in gift_pool.py.
"""
from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite
from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.errors import ConditionFailedError
from chalicelib.gifts.model import SHARDS, STAMPS, Gift, GiftEvent, NewGift, PromiseResult, epoch_seconds, shard_of

from .base import bind_model, connection_for, error_code
from .gift_pool import CodePool
from .gift_records import (
    GiftAttemptRecord,
    GiftCodeRecord,
    GiftEventRecord,
    GiftRecord,
    GiftRespondentRecord,
    GiftStockRecord,
    backoff,
    busy,
    gift_of,
    reasons_of,
    unanswered,
    unavailable,
)

# Positions in a claim's transaction (PynamoDB sends puts, then updates, each in the order added).
_CLAIM_GIFT, _CLAIM_CODE, _CLAIM_STOCK = 1, 2, 3
# Unanswered transactions are sent again this many times: both promise and claim are safe to repeat,
# because their own conditions tell whether an unanswered attempt was applied.
_UNANSWERED_RETRIES = 3


class _UnansweredError(Exception):
    """DynamoDB did not answer a claim's transaction; it may have been applied."""


class GiftStore:
    """Reads and writes gifts; every change is a conditional transaction, never read-then-write."""

    def __init__(self, settings: Settings, max_attempts: int = 60) -> None:
        self.settings = settings
        self.max_attempts = max_attempts
        # One connection for every transaction: botocore clients are thread-safe and costly to create.
        self.connection = connection_for(settings)
        self.codes: type[GiftCodeRecord] = bind_model(GiftCodeRecord, settings, "gift-codes")  # type: ignore[assignment]
        self.respondents: type[GiftRespondentRecord] = bind_model(  # type: ignore[assignment]
            GiftRespondentRecord, settings, "gift-respondents")
        self.gifts: type[GiftRecord] = bind_model(GiftRecord, settings, "gifts")  # type: ignore[assignment]
        self.events: type[GiftEventRecord] = bind_model(GiftEventRecord, settings, "gift-events")  # type: ignore[assignment]
        self.stock_rows: type[GiftStockRecord] = bind_model(GiftStockRecord, settings, "gift-stock")  # type: ignore[assignment]
        self.attempts: type[GiftAttemptRecord] = bind_model(GiftAttemptRecord, settings, "gift-attempts")  # type: ignore[assignment]
        self.pool = CodePool(self.connection, self.codes, self.stock_rows, max_attempts)

    @property
    def models(self) -> list[type[Model]]:
        return [self.codes, self.respondents, self.gifts, self.events, self.stock_rows, self.attempts]

    # --- codes and stock ---------------------------------------------------------------------------

    def add_codes(self, campaign: str, codes: Iterable[tuple[str, str]], now: datetime) -> tuple[int, list[str]]:
        """Add (normalised, display) codes; returns how many were added and which already existed."""
        return self.pool.add_codes(campaign, codes, now)

    def codes_of(self, campaign: str) -> Iterator[tuple[str, str, str | None]]:
        """(code, display, gift id) of every code of a campaign (a scan: for exports and tools)."""
        return self.pool.codes_of(campaign)

    def stock(self, campaign: str) -> dict[str, int]:
        """The campaign's counters summed over its shards."""
        return self.pool.stock(campaign)

    # --- promising -------------------------------------------------------------------------------

    def respondent_gift(self, campaign: str, respondent: str) -> Gift | None:
        """The gift a respondent already holds in a campaign, if any."""
        try:
            record = self.respondents.get(campaign, respondent, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise unavailable(exc) from exc
        return self.gift(record.gift_id)

    def promise(self, new: NewGift) -> PromiseResult:
        """Record a promised gift (no code) for the respondent in one transaction; their earlier gift if any.

        Nothing is read first: the respondent key's condition decides, so a retried or doubled answer finds
        the first promise. The promise is counted on a random shard, so concurrent answers rarely share a counter.
        """
        shard = random.randrange(SHARDS)
        gift = self.gifts(new.id, campaign=new.campaign, shard=shard, state="promised", token_hash=new.token_hash,
                          respondent=new.respondent, form=new.form, submission_id=new.submission_id,
                          language=new.language, issued_at=new.issued_at, expires_at=epoch_seconds(new.expires_at))
        holder = self.respondents(new.campaign, new.respondent, gift_id=new.id, created_at=new.issued_at)
        silent = 0
        for attempt in range(self.max_attempts):
            try:
                with TransactWrite(connection=self.connection) as transaction:
                    transaction.save(holder, condition=self.respondents.respondent.does_not_exist())
                    transaction.save(gift, condition=self.gifts.id.does_not_exist())
                    transaction.save(self._event(new.id, new.campaign, "promised", None, new.issued_at, "formloop"))
                    transaction.update(self.stock_rows(new.campaign, shard), actions=[self.stock_rows.promised.add(1)])
                return PromiseResult(gift_of(gift), created=True)
            except TransactWriteError as exc:
                reasons = reasons_of(exc)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    # A retry or a double submit promised this respondent's gift first: that one is theirs.
                    earlier = self.respondent_gift(new.campaign, new.respondent)
                    if earlier is not None:
                        return PromiseResult(earlier, created=False)
                elif not reasons and unanswered(exc) and silent < _UNANSWERED_RETRIES:
                    silent += 1  # sent again: if the first was applied, the respondent key now says so
                elif "TransactionConflict" not in reasons:
                    raise unavailable(exc) from exc
                backoff(attempt)
            except PynamoDBException as exc:
                raise unavailable(exc) from exc
        raise busy()

    # --- claiming: the code is taken here ------------------------------------------------------------

    def claim(self, gift: Gift, now: datetime, expires_at: datetime | None) -> Gift | None:
        """Take one available code for a promised gift (promised -> claimed), atomically; None when none is left.

        ConditionFailedError when the gift is no longer promised or its link expired. A code another claim
        took meanwhile is skipped and another tried.
        """
        tried: set[str] = set()
        silent = 0
        try:
            for attempt in range(self.max_attempts):
                pick = self.pool.pick(gift.campaign, tried, attempt)
                if pick is None:
                    return None
                if pick[0]:
                    try:
                        claimed = self._try_claim(gift, pick[0], pick[1], now, expires_at, tried)
                    except _UnansweredError as exc:
                        silent += 1
                        if silent > _UNANSWERED_RETRIES:
                            raise unavailable(exc) from exc
                        current = self.gift(gift.id)
                        if current is None or current.state != "promised":  # it was applied (or changed)
                            raise ConditionFailedError(f"gift {gift.id}: no longer promised") from exc
                        continue
                    if claimed is not None:
                        return claimed
                backoff(attempt)
        except PynamoDBException as exc:
            raise unavailable(exc) from exc
        raise busy()

    def _try_claim(self, gift: Gift, code: str, display: str, now: datetime, expires_at: datetime | None,
                   tried: set[str]) -> Gift | None:
        shard = shard_of(code)
        moment = epoch_seconds(now)
        ends = epoch_seconds(expires_at)
        actions: list[Any] = [self.gifts.state.set("claimed"), self.gifts.code.set(code),
                              self.gifts.display.set(display), self.gifts.shard.set(shard),
                              self.gifts.claimed_at.set(now),
                              self.gifts.expires_at.set(ends) if ends is not None else self.gifts.expires_at.remove()]
        taken: list[Any] = [self.stock_rows.available.add(-1), self.stock_rows.claimed.add(1)]
        try:
            with TransactWrite(connection=self.connection) as transaction:
                transaction.save(self._event(gift.id, gift.campaign, "claimed", "promised", now, "respondent"))
                transaction.update(self.gifts(gift.id), actions=actions, condition=(
                    (self.gifts.state == "promised")
                    & (self.gifts.expires_at.does_not_exist() | (self.gifts.expires_at > moment))))
                transaction.update(self.codes(code), actions=[
                    self.codes.gift_id.set(gift.id), self.codes.pool.remove(), self.codes.slot.remove()],
                    condition=self.codes.pool.exists() & (self.codes.campaign == gift.campaign))
                # One transaction may name an item once: the promise and the code may share a counter item.
                if shard == gift.shard:
                    transaction.update(self.stock_rows(gift.campaign, shard), actions=[
                        *taken, self.stock_rows.promised.add(-1)], condition=self.stock_rows.available > 0)
                else:
                    transaction.update(self.stock_rows(gift.campaign, shard), actions=taken,
                                       condition=self.stock_rows.available > 0)
                    transaction.update(self.stock_rows(gift.campaign, gift.shard),
                                       actions=[self.stock_rows.promised.add(-1)])
        except TransactWriteError as exc:
            reasons = reasons_of(exc)
            if not reasons and unanswered(exc):
                raise _UnansweredError(str(exc)) from exc
            if not reasons:
                raise unavailable(exc) from exc
            if reasons[_CLAIM_GIFT] == "ConditionalCheckFailed":
                raise ConditionFailedError(f"gift {gift.id}: no longer promised, or its link expired") from exc
            if reasons[_CLAIM_CODE] == "ConditionalCheckFailed" or reasons[_CLAIM_STOCK] == "ConditionalCheckFailed":
                tried.add(code)  # another claim took it (the index lags a write): try another code
            return None
        # Exactly what was written, so no read is needed to return it.
        return replace(gift, code=code, display=display, shard=shard, state="claimed", claimed_at=now,
                       expires_at=datetime.fromtimestamp(ends, UTC) if ends is not None else None)

    # --- reading and changing gifts ------------------------------------------------------------

    def gift(self, gift_id: str) -> Gift | None:
        """One gift, read consistently, or None."""
        try:
            return gift_of(self.gifts.get(gift_id, consistent_read=True))
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise unavailable(exc) from exc

    def gift_of_code(self, code: str) -> tuple[str, str | None] | None:
        """(campaign, gift id or None) of a normalised code, or None when no campaign has it."""
        try:
            record = self.codes.get(code, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise unavailable(exc) from exc
        return record.campaign, record.gift_id

    def transition(self, gift: Gift, to: str, now: datetime, actor: str, *, expiry: str | None = None) -> Gift:
        """Move a gift from its current state to `to`, with counters and an audit event, in one transaction.

        `expiry` adds a condition: "unexpired" (not past expires_at) or "expired" (past it).
        Raises ConditionFailedError when the gift changed meanwhile or the expiry condition fails.
        """
        condition = self.gifts.state == gift.state
        moment = epoch_seconds(now)
        if expiry == "unexpired":
            condition &= self.gifts.expires_at.does_not_exist() | (self.gifts.expires_at > moment)
        elif expiry == "expired":
            condition &= self.gifts.expires_at <= moment
        actions: list[Any] = [self.gifts.state.set(to), getattr(self.gifts, STAMPS[to]).set(now)]
        if to == "redeemed":
            actions.append(self.gifts.redeemed_by.set(actor))
        for attempt in range(self.max_attempts):
            try:
                with TransactWrite(connection=self.connection) as transaction:
                    transaction.save(self._event(gift.id, gift.campaign, to, gift.state, now, actor))
                    transaction.update(self.gifts(gift.id), actions=actions, condition=condition)
                    transaction.update(self.stock_rows(gift.campaign, gift.shard), actions=[
                        getattr(self.stock_rows, gift.state).add(-1), getattr(self.stock_rows, to).add(1)])
                changed = self.gift(gift.id)
                assert changed is not None, "a gift is never deleted"
                return changed
            except TransactWriteError as exc:
                reasons = reasons_of(exc)
                if "ConditionalCheckFailed" in reasons:
                    raise ConditionFailedError(f"gift {gift.id}: state or expiry changed") from exc
                if "TransactionConflict" not in reasons:
                    raise unavailable(exc) from exc
                backoff(attempt)
            except PynamoDBException as exc:
                raise unavailable(exc) from exc
        raise busy()

    def history(self, gift_id: str) -> list[GiftEvent]:
        """A gift's audit events, oldest first."""
        try:
            return [GiftEvent(r.event, r.from_state, r.at, r.actor)
                    for r in self.events.query(gift_id, consistent_read=True)]
        except PynamoDBException as exc:
            raise unavailable(exc) from exc

    def gifts_of(self, campaign: str) -> Iterator[Gift]:
        """Every gift of a campaign (a scan: for sweeps and tools, not for requests)."""
        try:
            for record in self.gifts.scan(self.gifts.campaign == campaign, consistent_read=True):
                yield gift_of(record)
        except PynamoDBException as exc:
            raise unavailable(exc) from exc

    # --- links that open nothing, per client ------------------------------------------------------

    def count_wrong_link(self, client: str, window: str, limit: int, expires: datetime) -> bool:
        """Count one link of this client that opened nothing unless the window holds `limit`; False at the limit."""
        record = self.attempts(f"{client}#{window}")
        try:
            record.update(actions=[self.attempts.wrong.add(1), self.attempts.expires_at.set(expires)],
                          condition=self.attempts.wrong.does_not_exist() | (self.attempts.wrong < limit))
            return True
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise unavailable(exc) from exc
        except PynamoDBException as exc:
            raise unavailable(exc) from exc

    def _event(self, gift_id: str, campaign: str, event: str, from_state: str | None, at: datetime,
               actor: str) -> GiftEventRecord:
        return self.events(gift_id, str(ULID()), campaign=campaign, event=event, from_state=from_state, at=at,
                           actor=actor)
