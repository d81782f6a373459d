"""Submissions and idempotency keys in DynamoDB, through PynamoDB: everything but a plain post's one PutItem.

SubmissionStore (submissions.py) builds this on first need, so a cold start that only stores a plain post never
imports PynamoDB.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, assert_never

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.clock import utcnow
from chalicelib.core.config import Settings
from chalicelib.core.errors import (
    AdmissionRefusedError,
    ConditionFailedError,
    KeyReusedError,
    StoreUnavailableError,
)
from chalicelib.core.submission import IdempotencyClaim, StoreResult, Submission
from chalicelib.intake.admission import (
    Admission,
    CountUse,
    GiveBackPlace,
    MarkRespondent,
    Release,
    TakePlace,
    UnmarkRespondent,
)

from .address_index import address_index, keys_by_address, read_by_keys
from .base import ConditionalWrite, bind_model, botocore_client, connection_for, error_code
from .client import put_item
from .items import address_attributes
from .limits import RateLimitStore
from .surveys import SurveyStore


class SubmissionRecord(Model):
    """One form post, keyed by form and a time-sortable ULID."""

    class Meta:
        table_name = "unbound-submissions"
        stream_view_type = "NEW_IMAGE"

    form = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # received | spam
    answers = MapAttribute[str, Any](default=dict)
    feedback_kind = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    origin = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    ip_hash = UnicodeAttribute(null=True)
    respondent_email = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    source = MapAttribute[str, Any](null=True)  # the referring page and utm_* (chalicelib/intake/source.py)
    expires_at = TTLAttribute(null=True)
    # The normalised addresses that export and erasure by address look for (storage/address_index.py).
    address = UnicodeAttribute(null=True)
    reply_address = UnicodeAttribute(null=True)
    by_address = address_index("by-address")
    by_reply_address = address_index("by-reply-address")


class IdempotencyRecord(Model):
    """A claimed idempotency key and the submission it produced."""

    class Meta:
        table_name = "unbound-idempotency"

    key = UnicodeAttribute(hash_key=True)
    form = UnicodeAttribute()
    submission_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()
    created_at = NumberAttribute()
    expires_at = TTLAttribute()


def _unavailable(exc: PynamoDBException, what: str) -> StoreUnavailableError:
    # No answer at all (a timeout, a dropped connection): the write may have been applied.
    return StoreUnavailableError(f"{what}: {exc}", maybe_written=error_code(exc) is None)


def _plain(attribute: Any) -> dict[str, Any]:
    return attribute.as_dict() if hasattr(attribute, "as_dict") else dict(attribute)


class SubmissionTables:
    """Reads and writes submissions; every write is conditional, never read-then-write."""

    def __init__(self, settings: Settings, limits: RateLimitStore | None = None,
                 surveys: SurveyStore | None = None) -> None:
        self.settings = settings
        self.submissions: type[SubmissionRecord] = bind_model(SubmissionRecord, settings, "submissions")  # type: ignore[assignment]
        self.idempotency: type[IdempotencyRecord] = bind_model(IdempotencyRecord, settings, "idempotency")  # type: ignore[assignment]
        # The tables that admissions and releases write to, in the same transaction as a submission.
        self.limits = limits or RateLimitStore(settings)
        self.surveys = surveys or SurveyStore(settings)
        self._transactions: Connection | None = None

    @property
    def models(self) -> list[type[Model]]:
        return [self.submissions, self.idempotency]

    def _record(self, submission: Submission) -> SubmissionRecord:
        record = self.submissions(
            submission.form, submission.id,
            created_at=submission.created_at, status=submission.status, answers=submission.answers,
            feedback_kind=submission.feedback_kind, language=submission.language, origin=submission.origin,
            user_agent=submission.user_agent, ip_hash=submission.ip_hash,
            respondent_email=submission.respondent_email, reply_to=submission.reply_to,
            subject=submission.subject, source=submission.source,
        )
        for name, key in address_attributes(submission.respondent_email, submission.reply_to).items():
            setattr(record, name, key)
        if submission.retention_days:
            record.expires_at = submission.created_at + timedelta(days=submission.retention_days)
        return record

    def put(self, submission: Submission, claim: IdempotencyClaim | None = None,
            admissions: Sequence[Admission] = ()) -> StoreResult:
        """Store a submission in one request: with a claim exactly once per key, and only if every admission's
        condition holds (a rate limit, a survey's places, one response per address), all in one transaction."""
        try:
            if claim is None and not admissions:
                # No condition: the id is a fresh ULID, so the only item it can meet is this very one, written
                # by an attempt whose answer was lost; botocore's retry then rewrites the same bytes (a no-op
                # for the stream, which only acts on INSERT). SubmissionStore sends most of these itself.
                put_item(botocore_client(self.submissions), self.submissions.Meta.table_name,
                         self.record_item(submission), f"submission {submission.form}/{submission.id} not stored")
                return StoreResult(submission.id, created=True)
            with TransactWrite(connection=self._connection()) as transaction:
                if claim is not None:
                    transaction.save(self._key_record(submission, claim),
                                     condition=self.idempotency.key.does_not_exist())
                transaction.save(self._record(submission), condition=self.submissions.id.does_not_exist())
                for admission in admissions:
                    write = self._admission_write(admission)
                    transaction.update(write.record, actions=write.actions or [], condition=write.condition)
            return StoreResult(submission.id, created=True)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if error_code(exc) == "TransactionCanceledException" else []
            failed = [reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons]
            # PynamoDB sends puts before updates, each in the order given: [key claim], submission, admissions.
            record_at = 1 if claim is not None else 0
            if claim is not None and failed[:1] == [True]:
                return self._replay(claim, submission.id)
            if len(failed) > record_at and failed[record_at]:
                # Fresh ULID: only our own attempt, applied but unanswered and retried by botocore, holds it.
                return StoreResult(submission.id, created=True)
            # (No reasons at all unless DynamoDB cancelled the transaction.)
            for admission, refused in zip(admissions, failed[record_at + 1:], strict=False):
                if refused:
                    raise AdmissionRefusedError(admission) from None
            raise _unavailable(exc, f"submission {submission.form}/{submission.id} not stored") from exc
        except PynamoDBException as exc:
            raise _unavailable(exc, f"submission {submission.form}/{submission.id} not stored") from exc

    def _admission_write(self, admission: Admission) -> ConditionalWrite:
        match admission:
            case CountUse():
                return self.limits.count_use(admission)
            case TakePlace():
                return self.surveys.take_place(admission)
            case MarkRespondent():
                return self.surveys.mark_respondent(admission)
            case _:
                assert_never(admission)

    def _release_write(self, release: Release) -> ConditionalWrite | None:
        match release:
            case GiveBackPlace():
                return self.surveys.give_back_place(release)
            case UnmarkRespondent():
                return self.surveys.unmark_respondent(release)
            case _:
                assert_never(release)

    def set_status(self, form: str, submission_id: str, status: str, *, expected: str,
                   feedback_kind: str | None = None, expires_at: datetime | None = None) -> bool:
        """Change a submission's status from `expected` in one conditional update; False when it is gone or has
        another status. The stream's MODIFY record is ignored (jobs.py): the caller runs what the new status owes."""
        record = self.submissions(form, submission_id)
        try:
            actions: list[Any] = [self.submissions.status.set(status)]
            if feedback_kind is not None:
                actions.append(self.submissions.feedback_kind.set(feedback_kind))
            if expires_at is not None:
                actions.append(self.submissions.expires_at.set(expires_at))
            record.update(actions=actions, condition=self.submissions.status == expected)
        except PynamoDBException as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise _unavailable(exc, f"submission {form}/{submission_id}: status not changed") from exc
        return True

    def delete(self, form: str, submission_id: str, releases: Sequence[Release] = ()) -> bool:
        """Delete a submission and undo what admitted it, in one transaction; False if it was not there.

        Conditioned on the submission existing, so the releases happen once even if a deletion is retried.
        """
        writes = [write for write in map(self._release_write, releases) if write is not None]
        try:
            with TransactWrite(connection=self._connection()) as transaction:
                transaction.delete(self.submissions(form, submission_id),
                                   condition=self.submissions.id.exists())
                for write in writes:
                    if write.actions is None:
                        transaction.delete(write.record, condition=write.condition)
                    else:
                        transaction.update(write.record, actions=write.actions, condition=write.condition)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if error_code(exc) == "TransactionCanceledException" else []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            if any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons):
                raise ConditionFailedError(f"a release of {form}/{submission_id} no longer holds") from exc
            raise _unavailable(exc, f"submission {form}/{submission_id} not deleted") from exc
        except PynamoDBException as exc:
            raise _unavailable(exc, f"submission {form}/{submission_id} not deleted") from exc
        return True

    def record_item(self, submission: Submission) -> dict[str, Any]:
        """The submission's DynamoDB item as its record serialises it (keys included); ValueError naming what a
        record cannot be stored without."""
        return self._record(submission).serialize(null_check=True)

    @staticmethod
    def _put_arguments(record: SubmissionRecord) -> tuple[str, dict[str, Any]]:
        """(hash key, other attributes) of a record, as PynamoDB's TableConnection.put_item takes them."""
        attributes = record.serialize(null_check=True)
        hash_key = attributes.pop("form")["S"]
        attributes.pop("id")
        return hash_key, attributes

    def _key_record(self, submission: Submission, claim: IdempotencyClaim) -> IdempotencyRecord:
        now = utcnow()
        return self.idempotency(
            claim.key, form=submission.form, submission_id=submission.id, body_hash=claim.body_hash,
            created_at=int(now.timestamp()),
            expires_at=now + timedelta(seconds=self.settings.idempotency_ttl_seconds),
        )

    def _replay(self, claim: IdempotencyClaim, submission_id: str) -> StoreResult:
        try:
            earlier = self.idempotency.get(claim.key, consistent_read=True)
        except DoesNotExist:  # expired between the failed condition and this read
            raise ConditionFailedError("the idempotency key expired while its submission was replayed") from None
        except PynamoDBException as exc:
            raise _unavailable(exc, "idempotency key unreadable") from exc
        if earlier.body_hash != claim.body_hash:
            raise KeyReusedError(f"idempotency key used by {earlier.form}/{earlier.submission_id}")
        # Our own id means botocore retried a transaction that had been applied but not answered.
        return StoreResult(earlier.submission_id, created=earlier.submission_id == submission_id)

    def _connection(self) -> Connection:
        if self._transactions is None:
            self._transactions = connection_for(self.settings)
        return self._transactions

    def botocore_clients(self) -> list[Any]:
        """The botocore clients every write of this store goes through (tests inject faults on them)."""
        return [botocore_client(self.submissions), botocore_client(self.idempotency), self._connection().client]

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        return read_submission(self.submissions, form, submission_id)

    def list(self, form: str, *, newest_first: bool = True, limit: int | None = None) -> Iterator[Submission]:
        """Submissions of a form, newest first by default."""
        for record in self.submissions.query(form, scan_index_forward=not newest_first, limit=limit,
                                             consistent_read=True):
            yield self._submission(record)

    def scan(self, start: tuple[str, str] | None, limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions of every form from `start` (form, id) on; the next start, None at the end."""
        try:
            found = self.submissions.scan(
                limit=limit, consistent_read=True,
                last_evaluated_key={"form": {"S": start[0]}, "id": {"S": start[1]}} if start else None)
            page = [self._submission(record) for record in found]
            last = found.last_evaluated_key
        except PynamoDBException as exc:
            raise StoreUnavailableError("the submissions could not be scanned") from exc
        return page, ((last["form"]["S"], last["id"]["S"]) if last else None)

    def by_address(self, index: str, key: str, start: tuple[str, str] | None,
                   limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions whose address (`index` "by-address") or reply-to ("by-reply-address") has
        the normalised `key`, oldest first, from `start` (form, id) on; the next start, None at the end."""
        keys, next_start = keys_by_address(self.submissions, index, key, start, limit)
        return [self._submission(record) for record in read_by_keys(self.submissions, keys)], next_start

    def count(self, form: str) -> int:
        """How many submissions a form has (a query, so for tests and small forms)."""
        return self.submissions.count(form, consistent_read=True)

    def from_stream_image(self, image: dict[str, Any]) -> Submission:
        """A stream record's NewImage (DynamoDB JSON) as a Submission, read by the table's own model."""
        return self._submission(self.submissions.from_raw_data(image))

    @staticmethod
    def _submission(record: SubmissionRecord) -> Submission:
        return Submission(
            form=record.form, id=record.id, created_at=record.created_at, status=record.status,
            answers=record.answers.as_dict() if hasattr(record.answers, "as_dict") else dict(record.answers),
            feedback_kind=record.feedback_kind, language=record.language, origin=record.origin,
            user_agent=record.user_agent, ip_hash=record.ip_hash, respondent_email=record.respondent_email,
            reply_to=record.reply_to, subject=record.subject,
            source={str(k): str(v) for k, v in _plain(record.source).items()} if record.source else None,
        )


def read_submission(model: type[SubmissionRecord], form: str, submission_id: str) -> Submission | None:
    """One submission from a bound submissions model (a consistent read), or None."""
    try:
        return SubmissionTables._submission(model.get(form, submission_id, consistent_read=True))
    except DoesNotExist:
        return None
    except PynamoDBException as exc:
        raise StoreUnavailableError(f"submission {form}/{submission_id} could not be read") from exc
