"""Gift campaigns in DynamoDB: code pools, one gift per respondent, stock counters, audit events.

Every state change is one TransactWriteItems: the gift, the code or respondent key it depends on,
the stock counter of the code's shard and an audit event commit together or not at all.
"""
from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite
from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.errors import ConditionFailedError, StoreUnavailableError
from chalicelib.gifts.model import (
    COUNTERS,
    SHARDS,
    STAMPS,
    Gift,
    GiftEvent,
    IssueResult,
    NewGift,
    epoch_seconds,
    shard_of,
)
from chalicelib.gifts.store import StoreBusyError

from .base import bind_model, connection_for, error_code


class AvailableIndex(GlobalSecondaryIndex["GiftCodeRecord"]):
    """Sparse index of the codes still available, per campaign shard, in random slot order."""

    class Meta:
        index_name = "available"
        projection = IncludeProjection(["display"])

    pool = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)


class GiftCodeRecord(Model):
    """One code of a campaign's pool, keyed by its normalised form (unique across campaigns)."""

    class Meta:
        table_name = "unbound-gift-codes"

    code = UnicodeAttribute(hash_key=True)
    campaign = UnicodeAttribute()
    display = UnicodeAttribute()
    shard = NumberAttribute()
    loaded_at = UTCDateTimeAttribute()
    gift_id = UnicodeAttribute(null=True)
    # Present only while the code is available, so the index lists exactly what can be issued.
    pool = UnicodeAttribute(null=True)
    slot = UnicodeAttribute(null=True)
    available = AvailableIndex()


class GiftRespondentRecord(Model):
    """The one gift a respondent (hashed normalised email) holds in a campaign."""

    class Meta:
        table_name = "unbound-gift-respondents"

    campaign = UnicodeAttribute(hash_key=True)
    respondent = UnicodeAttribute(range_key=True)
    gift_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class GiftRecord(Model):
    """A gift handed to one respondent: its code, state and the hash of its link token."""

    class Meta:
        table_name = "unbound-gifts"

    id = UnicodeAttribute(hash_key=True)
    campaign = UnicodeAttribute()
    code = UnicodeAttribute()
    display = UnicodeAttribute()
    shard = NumberAttribute()
    state = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    respondent = UnicodeAttribute()
    form = UnicodeAttribute(null=True)
    submission_id = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    issued_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)  # epoch seconds, compared in condition expressions
    claimed_at = UTCDateTimeAttribute(null=True)
    redeemed_at = UTCDateTimeAttribute(null=True)
    redeemed_by = UnicodeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)


class GiftEventRecord(Model):
    """One audit event: a gift entering a state, written in the same transaction as the change."""

    class Meta:
        table_name = "unbound-gift-events"

    gift = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    campaign = UnicodeAttribute()
    event = UnicodeAttribute()
    from_state = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()


class GiftStockRecord(Model):
    """Counters of one campaign shard, kept in step with every transaction that moves a code."""

    class Meta:
        table_name = "unbound-gift-stock"

    campaign = UnicodeAttribute(hash_key=True)
    shard = NumberAttribute(range_key=True)
    loaded = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    issued = NumberAttribute(default=0)
    claimed = NumberAttribute(default=0)
    redeemed = NumberAttribute(default=0)
    expired = NumberAttribute(default=0)
    revoked = NumberAttribute(default=0)


class GiftAttemptRecord(Model):
    """Wrong-token count of one gift in one hour (the window is in the key, TTL cleans up)."""

    class Meta:
        table_name = "unbound-gift-attempts"

    key = UnicodeAttribute(hash_key=True)
    wrong = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def _reasons(exc: TransactWriteError) -> list[str | None]:
    # error_code, not cause_response_code: the latter raises on a timeout, when DynamoDB never answered.
    if error_code(exc) != "TransactionCanceledException":
        return []
    return [reason.code if reason else None for reason in exc.cancellation_reasons]


def _busy() -> StoreBusyError:
    return StoreBusyError("gift transactions kept conflicting with concurrent ones")


def _unavailable(exc: Exception) -> StoreUnavailableError:
    error = StoreUnavailableError(f"gift tables unreachable: {exc}")
    error.__cause__ = exc
    return error


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(attempt, 6))))


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

    @property
    def models(self) -> list[type[Model]]:
        return [self.codes, self.respondents, self.gifts, self.events, self.stock_rows, self.attempts]


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
                reasons = _reasons(exc)
                failed = {items[i][0] for i, r in enumerate(reasons[:len(items)]) if r == "ConditionalCheckFailed"}
                if not failed and "TransactionConflict" not in reasons:
                    raise _unavailable(exc) from exc
                existing += sorted(failed)
                items = [item for item in items if item[0] not in failed]
                _backoff(attempt)
            except PynamoDBException as exc:
                raise _unavailable(exc) from exc
        raise _busy()

    def codes_of(self, campaign: str) -> Iterator[tuple[str, str, str | None]]:
        """(code, display, gift id) of every code of a campaign (a scan: for exports and tools)."""
        try:
            for record in self.codes.scan(self.codes.campaign == campaign, consistent_read=True):
                yield record.code, record.display, record.gift_id
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    # --- stock -----------------------------------------------------------------------------------

    def _shards(self, campaign: str) -> list[GiftStockRecord]:
        return list(self.stock_rows.query(campaign, consistent_read=True))

    def stock(self, campaign: str) -> dict[str, int]:
        """The campaign's counters summed over its shards (a fixed number of items, however large the pool)."""
        totals = dict.fromkeys(COUNTERS, 0)
        try:
            for row in self._shards(campaign):
                for name in COUNTERS:
                    totals[name] += int(getattr(row, name) or 0)
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc
        return totals

    # --- issuing ---------------------------------------------------------------------------------

    def respondent_gift(self, campaign: str, respondent: str) -> Gift | None:
        """The gift a respondent already holds in a campaign, if any."""
        try:
            record = self.respondents.get(campaign, respondent, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc
        return self.gift(record.gift_id)

    def issue(self, new: NewGift) -> IssueResult:
        """Give the respondent one available code, atomically; the same gift again if they already have one."""
        try:
            earlier = self.respondent_gift(new.campaign, new.respondent)
            if earlier is not None:
                return IssueResult(earlier, created=False)
            tried: set[str] = set()
            for attempt in range(self.max_attempts):
                pick = self._pick_code(new.campaign, tried, attempt)
                if pick is None:
                    return IssueResult(None, created=False, out_of_stock=True)
                if not pick[0]:
                    _backoff(attempt)
                    continue
                result = self._try_issue(new, pick[0], pick[1], tried)
                if result is not None:
                    return result
                _backoff(attempt)
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc
        raise _busy()

    def _pick_code(self, campaign: str, tried: set[str], attempt: int) -> tuple[str, str] | None:
        """(code, display) to try: None when the counters say the pool is empty, ("", "") when none can be
        tried just now (all candidates taken meanwhile, or the index not yet caught up)."""
        if attempt == 0:
            # With stock left, a random shard almost always holds codes: skip reading the counters.
            found = self._candidates(campaign, random.randrange(SHARDS), tried)
            if found:
                return random.choice(found)
        rows = [row for row in self._shards(campaign) if (row.available or 0) > 0]
        if not rows:
            return None
        row = random.choices(rows, weights=[int(r.available) for r in rows])[0]
        found = self._candidates(campaign, int(row.shard), tried)
        return random.choice(found) if found else ("", "")

    def _candidates(self, campaign: str, shard: int, tried: set[str]) -> list[tuple[str, str]]:
        pool = f"{campaign}#{shard}"
        # Start at a random slot so that concurrent issuers spread over the pool instead of racing for one code.
        start = secrets.token_hex(8)
        found = [(r.code, r.display) for r in self.codes.available.query(pool, self.codes.slot >= start, limit=8)]
        if not found:
            found = [(r.code, r.display) for r in self.codes.available.query(pool, limit=8)]
        return [pair for pair in found if pair[0] not in tried]

    def _try_issue(self, new: NewGift, code: str, display: str, tried: set[str]) -> IssueResult | None:
        shard = shard_of(code)
        gift = self.gifts(new.id, campaign=new.campaign, code=code, display=display, shard=shard,
                          state="issued", token_hash=new.token_hash, respondent=new.respondent, form=new.form,
                          submission_id=new.submission_id, language=new.language, issued_at=new.issued_at,
                          expires_at=epoch_seconds(new.expires_at))
        holder = self.respondents(new.campaign, new.respondent, gift_id=new.id, created_at=new.issued_at)
        try:
            with TransactWrite(connection=self.connection) as transaction:
                transaction.save(holder, condition=self.respondents.respondent.does_not_exist())
                transaction.save(gift, condition=self.gifts.id.does_not_exist())
                transaction.save(self._event(new.id, new.campaign, "issued", None, new.issued_at, "formloop"))
                transaction.update(self.codes(code), actions=[
                    self.codes.gift_id.set(new.id), self.codes.pool.remove(), self.codes.slot.remove()],
                    condition=self.codes.pool.exists() & (self.codes.campaign == new.campaign))
                transaction.update(self.stock_rows(new.campaign, shard), actions=[
                    self.stock_rows.available.add(-1), self.stock_rows.issued.add(1)],
                    condition=self.stock_rows.available > 0)
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            if not reasons:
                raise _unavailable(exc) from exc
            if reasons[0] == "ConditionalCheckFailed":
                # Someone else (a retry, a double submit) issued this respondent's gift first: hand out that one.
                return IssueResult(self.respondent_gift(new.campaign, new.respondent), created=False)
            if reasons[3] == "ConditionalCheckFailed":
                tried.add(code)
            return None
        # Exactly what was written, so no read is needed to return it.
        expires = datetime.fromtimestamp(epoch_seconds(new.expires_at) or 0, UTC) if new.expires_at else None
        return IssueResult(Gift(id=new.id, campaign=new.campaign, code=code, display=display, shard=shard,
                                state="issued", token_hash=new.token_hash, respondent=new.respondent,
                                issued_at=new.issued_at, expires_at=expires, form=new.form,
                                submission_id=new.submission_id, language=new.language), created=True)

    # --- reading and changing gifts ------------------------------------------------------------

    def gift(self, gift_id: str) -> Gift | None:
        """One gift, read consistently, or None."""
        try:
            return self._gift(self.gifts.get(gift_id, consistent_read=True))
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    def gift_of_code(self, code: str) -> tuple[str, str | None] | None:
        """(campaign, gift id or None) of a normalised code, or None when no campaign has it."""
        try:
            record = self.codes.get(code, consistent_read=True)
        except DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc
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
                reasons = _reasons(exc)
                if "ConditionalCheckFailed" in reasons:
                    raise ConditionFailedError(f"gift {gift.id}: state or expiry changed") from exc
                if "TransactionConflict" not in reasons:
                    raise _unavailable(exc) from exc
                _backoff(attempt)
            except PynamoDBException as exc:
                raise _unavailable(exc) from exc
        raise _busy()

    def history(self, gift_id: str) -> list[GiftEvent]:
        """A gift's audit events, oldest first."""
        try:
            return [GiftEvent(r.event, r.from_state, r.at, r.actor)
                    for r in self.events.query(gift_id, consistent_read=True)]
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    def gifts_of(self, campaign: str) -> Iterator[Gift]:
        """Every gift of a campaign (a scan: for sweeps and tools, not for requests)."""
        try:
            for record in self.gifts.scan(self.gifts.campaign == campaign, consistent_read=True):
                yield self._gift(record)
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    # --- wrong-token rate limit ----------------------------------------------------------------

    def wrong_tokens(self, gift_id: str, window: str) -> int:
        """How many wrong tokens this gift received in this window."""
        try:
            return int(self.attempts.get(f"{gift_id}#{window}", consistent_read=True).wrong)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    def count_wrong_token(self, gift_id: str, window: str, limit: int, expires: datetime) -> bool:
        """Count one wrong token unless the window already holds `limit`; False means the limit is reached."""
        record = self.attempts(f"{gift_id}#{window}")
        try:
            record.update(actions=[self.attempts.wrong.add(1), self.attempts.expires_at.set(expires)],
                          condition=self.attempts.wrong.does_not_exist() | (self.attempts.wrong < limit))
            return True
        except UpdateError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise _unavailable(exc) from exc
        except PynamoDBException as exc:
            raise _unavailable(exc) from exc

    # --- helpers ----------------------------------------------------------------------------------

    def _event(self, gift_id: str, campaign: str, event: str, from_state: str | None, at: datetime,
               actor: str) -> GiftEventRecord:
        return self.events(gift_id, str(ULID()), campaign=campaign, event=event, from_state=from_state, at=at,
                           actor=actor)

    @staticmethod
    def _gift(record: GiftRecord) -> Gift:
        expires = datetime.fromtimestamp(int(record.expires_at), UTC) if record.expires_at is not None else None
        return Gift(id=record.id, campaign=record.campaign, code=record.code, display=record.display,
                    shard=int(record.shard), state=record.state, token_hash=record.token_hash,
                    respondent=record.respondent, issued_at=record.issued_at, expires_at=expires, form=record.form,
                    submission_id=record.submission_id, language=record.language, claimed_at=record.claimed_at,
                    redeemed_at=record.redeemed_at, redeemed_by=record.redeemed_by, ended_at=record.ended_at)
