"""The submit path's stores in plain Python, for unit tests and trying things out: the same behaviour as the
DynamoDB stores (all-or-nothing writes with their admissions, replays of claimed keys, releases once), no I/O.

One lock is shared by the three stores, as one DynamoDB transaction spans their tables. TTL is ignored: nothing
expires. A store can be told to fail its next writes (`fail_writes`), as DynamoDB does under throttling or when
an answer is lost.
"""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

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
from chalicelib.reporting.model import SubmissionPage

from .items import ADDRESS_INDEXES, address_attributes


class MemoryRateLimitStore:
    """Rate-limit counters: uses per key (the window is in the key)."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.counters: dict[str, int] = {}

    def uses(self, key: str) -> int:
        """How many uses of `key` were counted (0 if none)."""
        with self.lock:
            return self.counters.get(key, 0)

    def _admits(self, intent: CountUse) -> bool:
        return self.counters.get(intent.key, 0) < intent.limit

    def _count(self, intent: CountUse) -> None:
        self.counters[intent.key] = self.counters.get(intent.key, 0) + 1


class MemorySurveyStore:
    """Survey places taken per form, and respondent markers (address hash -> the submission that placed it)."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.taken: dict[str, int] = {}
        self.markers: dict[tuple[str, str], str] = {}

    def responses(self, form: str) -> int:
        """How many of a survey's places are taken."""
        with self.lock:
            return self.taken.get(form, 0)

    def marked_by(self, form: str, address_hash: str) -> str | None:
        """The id of the submission that marked this address, or None."""
        with self.lock:
            return self.markers.get((form, address_hash))


@dataclass(frozen=True)
class _Claimed:
    form: str
    submission_id: str
    body_hash: str


class MemorySubmissionStore:
    """Submissions and idempotency keys, written with their admissions under one lock, all or nothing."""

    def __init__(self, limits: MemoryRateLimitStore | None = None, surveys: MemorySurveyStore | None = None) -> None:
        self.lock = threading.RLock()
        self.limits = limits or MemoryRateLimitStore(self.lock)
        self.surveys = surveys or MemorySurveyStore(self.lock)
        # The stores' state changes only under this one lock, as one transaction spans DynamoDB's tables.
        self.limits.lock = self.surveys.lock = self.lock
        self.items: dict[tuple[str, str], Submission] = {}
        self.keys: dict[str, _Claimed] = {}
        self._failures: list[bool] = []  # per coming write: whether it is applied before failing

    def fail_writes(self, times: int = 1, *, maybe_written: bool = False) -> None:
        """Make the next `times` writes raise StoreUnavailableError: refused outright (nothing written), or with
        `maybe_written` applied first and their answer lost."""
        with self.lock:
            self._failures += [maybe_written] * times

    def heal(self) -> None:
        """Stop failing writes (those `fail_writes` asked for and not yet used)."""
        with self.lock:
            self._failures.clear()

    def put(self, submission: Submission, claim: IdempotencyClaim | None = None,
            admissions: Sequence[Admission] = ()) -> StoreResult:
        """Store a submission with its claim and admissions, all or nothing (see SubmissionStorage.put)."""
        with self.lock:
            lost_answer = self._next_failure()
            if lost_answer is False:
                raise StoreUnavailableError(f"submission {submission.form}/{submission.id} not stored")
            if claim is not None and claim.key in self.keys:
                return self._replay(self.keys[claim.key], claim, submission.id)
            for admission in admissions:
                if not self._admits(admission):
                    raise AdmissionRefusedError(admission)
            for admission in admissions:
                self._admit(admission)
            if claim is not None:
                self.keys[claim.key] = _Claimed(submission.form, submission.id, claim.body_hash)
            self.items[(submission.form, submission.id)] = copy.deepcopy(submission)
            if lost_answer:
                raise StoreUnavailableError(f"submission {submission.form}/{submission.id}: answer lost",
                                            maybe_written=True)
            return StoreResult(submission.id, created=True)

    def set_status(self, form: str, submission_id: str, status: str, *, expected: str,
                   feedback_kind: str | None = None, expires_at: datetime | None = None) -> bool:
        """Change a submission's status from `expected` (see SubmissionStorage.set_status)."""
        with self.lock:
            if self._next_failure() is not None:
                raise StoreUnavailableError(f"submission {form}/{submission_id}: status not changed")
            stored = self.items.get((form, submission_id))
            if stored is None or stored.status != expected:
                return False
            stored.status = status
            stored.feedback_kind = feedback_kind or stored.feedback_kind
            if expires_at is not None:
                stored.retention_days = (expires_at - stored.created_at).days
            return True

    def delete(self, form: str, submission_id: str, releases: Sequence[Release] = ()) -> bool:
        """Delete a submission with its releases, all or nothing; False (and nothing released) if it is gone."""
        with self.lock:
            if self._next_failure() is not None:
                raise StoreUnavailableError(f"submission {form}/{submission_id} not deleted")
            if (form, submission_id) not in self.items:
                return False
            for release in releases:
                if isinstance(release, GiveBackPlace) and self.surveys.taken.get(release.form, 0) <= 0:
                    raise ConditionFailedError(f"no place of {release.form} to give back")
            for release in releases:
                self._release(release)
            del self.items[(form, submission_id)]
            return True

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        with self.lock:
            found = self.items.get((form, submission_id))
            return copy.deepcopy(found) if found is not None else None

    def page(self, form: str, *, after: str | None, limit: int, status: str | None) -> SubmissionPage:
        """The next `limit` submissions after the id `after` (newest first), optionally of one status."""
        with self.lock:
            found = sorted((s for (f, _), s in self.items.items() if f == form
                            and (after is None or s.id < after) and (status is None or s.status == status)),
                           key=lambda s: s.id, reverse=True)
            page = [copy.deepcopy(s) for s in found[:limit]]
        return SubmissionPage(page, page[-1].id if len(found) > limit else None)

    def list(self, form: str, *, newest_first: bool = True, limit: int | None = None) -> Iterator[Submission]:
        """Submissions of a form, newest first by default (ids are time-sortable ULIDs, as in DynamoDB)."""
        with self.lock:
            found = sorted((s for (f, _), s in self.items.items() if f == form), key=lambda s: s.id,
                           reverse=newest_first)
            found = [copy.deepcopy(s) for s in found[:limit]]
        yield from found

    def scan(self, start: tuple[str, str] | None, limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Up to `limit` submissions of every form after `start` (form, id); the next start, None at the end."""
        with self.lock:
            keys = sorted(key for key in self.items if start is None or key > start)
            page = [copy.deepcopy(self.items[key]) for key in keys[:limit]]
        return page, ((page[-1].form, page[-1].id) if len(keys) > limit else None)

    def by_address(self, index: str, key: str, start: tuple[str, str] | None,
                   limit: int) -> tuple[Sequence[Submission], tuple[str, str] | None]:
        """Submissions under `key` in a sparse address index, as in DynamoDB (see SubmissionStore.by_address)."""
        attribute, _ = ADDRESS_INDEXES[index]
        with self.lock:
            # The index's order: its sort key (the id), then the table's key; only items with the attribute.
            found = sorted((s.id, s.form) for s in self.items.values()
                           if address_attributes(s.respondent_email, s.reply_to).get(attribute) == key)
            after = [entry for entry in found if start is None or entry > (start[1], start[0])]
            page = [copy.deepcopy(self.items[(form, id_)]) for id_, form in after[:limit]]
        return page, ((page[-1].form, page[-1].id) if len(after) > limit else None)

    def count(self, form: str) -> int:
        """How many submissions a form has."""
        with self.lock:
            return sum(1 for f, _ in self.items if f == form)

    def from_stream_image(self, image: dict[str, Any]) -> Submission:
        """The stored submission a stream image (DynamoDB JSON, as the worker hands it over) names by its keys."""
        form, submission_id = (image[name]["S"] if isinstance(image[name], dict) else image[name]
                               for name in ("form", "id"))
        found = self.get(form, submission_id)
        if found is None:
            raise KeyError(f"no submission {form}/{submission_id}")
        return found

    def _next_failure(self) -> bool | None:
        return self._failures.pop(0) if self._failures else None

    @staticmethod
    def _replay(earlier: _Claimed, claim: IdempotencyClaim, submission_id: str) -> StoreResult:
        if earlier.body_hash != claim.body_hash:
            raise KeyReusedError(f"idempotency key used by {earlier.form}/{earlier.submission_id}")
        return StoreResult(earlier.submission_id, created=earlier.submission_id == submission_id)

    def _admits(self, admission: Admission) -> bool:
        match admission:
            case CountUse():
                return self.limits._admits(admission)
            case TakePlace():
                return self.surveys.taken.get(admission.form, 0) < admission.limit
            case MarkRespondent():
                return (admission.form, admission.address_hash) not in self.surveys.markers
            case _:
                assert_never(admission)

    def _admit(self, admission: Admission) -> None:
        match admission:
            case CountUse():
                self.limits._count(admission)
            case TakePlace():
                self.surveys.taken[admission.form] = self.surveys.taken.get(admission.form, 0) + 1
            case MarkRespondent():
                self.surveys.markers[(admission.form, admission.address_hash)] = admission.submission_id
            case _:
                assert_never(admission)

    def _release(self, release: Release) -> None:
        match release:
            case GiveBackPlace():
                self.surveys.taken[release.form] -= 1
            case UnmarkRespondent():
                marker = (release.form, release.address_hash)
                if self.surveys.markers.get(marker) == release.submission_id:
                    del self.surveys.markers[marker]
            case _:
                assert_never(release)
