"""The DynamoDB items of gift campaigns, and what every gift storage module reports about DynamoDB's answers."""
from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.core.errors import StoreUnavailableError
from chalicelib.gifts.model import Gift
from chalicelib.gifts.store import StoreBusyError

from .base import error_code


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
    """A gift promised to one respondent: its state, the hash of its link token and, once claimed, its code."""

    class Meta:
        table_name = "unbound-gifts"

    id = UnicodeAttribute(hash_key=True)
    campaign = UnicodeAttribute()
    code = UnicodeAttribute(null=True)  # absent while promised: the claim takes the code
    display = UnicodeAttribute(null=True)
    shard = NumberAttribute()  # the code's shard; while promised, the shard whose counter counts the promise
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
    promised = NumberAttribute(default=0)
    issued = NumberAttribute(default=0)
    claimed = NumberAttribute(default=0)
    redeemed = NumberAttribute(default=0)
    expired = NumberAttribute(default=0)
    revoked = NumberAttribute(default=0)


class GiftAttemptRecord(Model):
    """Links of one client (hashed source address) that opened nothing in one hour (window in the key, TTL)."""

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


def reasons_of(exc: TransactWriteError) -> list[str | None]:
    """The cancellation reason of each item of a cancelled transaction, in request order; [] if not cancelled."""
    # error_code, not cause_response_code: the latter raises on a timeout, when DynamoDB never answered.
    if error_code(exc) != "TransactionCanceledException":
        return []
    return [reason.code if reason else None for reason in exc.cancellation_reasons]


def unanswered(exc: TransactWriteError) -> bool:
    """Whether DynamoDB never answered (a timeout, a dropped connection): the transaction may have been applied."""
    return error_code(exc) is None


def busy() -> StoreBusyError:
    """Concurrent transactions kept winning: the caller answers 'try again'."""
    return StoreBusyError("gift transactions kept conflicting with concurrent ones")


def unavailable(exc: Exception) -> StoreUnavailableError:
    """DynamoDB did not answer, or refused for a reason other than a condition."""
    error = StoreUnavailableError(f"gift tables unreachable: {exc}")
    error.__cause__ = exc
    return error


def backoff(attempt: int) -> None:
    """Sleep a jittered, growing moment before retrying a transaction that lost a race."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(attempt, 6))))


def gift_of(record: GiftRecord) -> Gift:
    """The domain gift of a stored item."""
    expires = datetime.fromtimestamp(int(record.expires_at), UTC) if record.expires_at is not None else None
    return Gift(id=record.id, campaign=record.campaign, code=record.code, display=record.display,
                shard=int(record.shard), state=record.state, token_hash=record.token_hash,
                respondent=record.respondent, issued_at=record.issued_at, expires_at=expires, form=record.form,
                submission_id=record.submission_id, language=record.language, claimed_at=record.claimed_at,
                redeemed_at=record.redeemed_at, redeemed_by=record.redeemed_by, ended_at=record.ended_at)
