"""Survey results and submission pages held in memory: the same behaviour as the DynamoDB stores, for unit tests.

A submission counts once: a marker per submission decides, under one lock, as the DynamoDB store's marker
item does in the same transaction as its counters.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.submission import Submission
from chalicelib.reporting.model import LATEST_TEXTS, Contribution, StoredResults, SubmissionPage, TextAnswer


@dataclass(frozen=True)
class _Text:
    submission_id: str
    text: str
    at: int  # epoch seconds, the precision DynamoDB keeps
    expires: int


def _number(amount: Decimal) -> int | Decimal:
    return int(amount) if amount == amount.to_integral_value() else amount


class MemoryResultStore:
    """Result counters, latest texts and per-submission markers in dictionaries, thread-safe."""

    def __init__(self, latest: int = LATEST_TEXTS,
                 clock: Clock = utcnow) -> None:
        self.latest = latest
        self.clock = clock  # texts past their retention are no longer read back
        self._lock = threading.RLock()
        self._counters: dict[str, dict[str, Decimal]] = {}  # form -> counter -> amount
        self._texts: dict[tuple[str, str], list[_Text]] = {}  # (form, question) -> newest first
        self._counted: set[tuple[str, str]] = set()  # (form, submission id)

    def add(self, contribution: Contribution) -> bool:
        """Count a submission once; False if it was already counted (a redelivered record)."""
        expires = contribution.created_at + timedelta(days=contribution.retention_days)
        with self._lock:
            for question, text in contribution.texts.items():
                self._add_text(contribution.form, question, _Text(
                    contribution.submission_id, text, int(contribution.created_at.timestamp()),
                    int(expires.timestamp())))
            marker = (contribution.form, contribution.submission_id)
            if marker in self._counted:
                return False
            self._counted.add(marker)
            self._apply(contribution, 1)
            return True

    def remove(self, contribution: Contribution) -> bool:
        """Take a deleted submission out of its form's results; False if it was never counted."""
        with self._lock:
            marker = (contribution.form, contribution.submission_id)
            counted = marker in self._counted
            if counted:
                self._counted.discard(marker)
                self._apply(contribution, -1)
            for question in contribution.texts:
                key = (contribution.form, question)
                kept = [t for t in self._texts.get(key, []) if t.submission_id != contribution.submission_id]
                self._texts[key] = kept
            return counted

    def read(self, form: str, text_questions: Iterable[str]) -> StoredResults:
        """The counters and, per question asked for, the latest texts still within their retention."""
        now = self.clock().timestamp()
        with self._lock:
            counters = {name: _number(amount) for name, amount in self._counters.get(form, {}).items()}
            texts = {question: [TextAnswer(t.submission_id, t.text, datetime.fromtimestamp(t.at, UTC))
                                for t in self._texts.get((form, question), []) if t.expires > now]
                     for question in text_questions}
        return StoredResults(counters, texts)

    def _apply(self, contribution: Contribution, sign: int) -> None:
        counters = self._counters.setdefault(contribution.form, {})
        for name, amount in contribution.counts.items():
            counters[name] = counters.get(name, Decimal(0)) + sign * Decimal(str(amount))

    def _add_text(self, form: str, question: str, entry: _Text) -> None:
        entries = self._texts.get((form, question), [])
        if any(e.submission_id == entry.submission_id for e in entries):
            return  # already there: a redelivered record
        # Submission ids sort by time, so the newest answers are the highest ids.
        self._texts[(form, question)] = sorted([*entries, entry], key=lambda e: e.submission_id,
                                               reverse=True)[:self.latest]


class MemorySubmissionPages:
    """Pages over submissions kept in a list (newest first by id), for the export service's unit tests."""

    def __init__(self, submissions: Iterable[Submission] = ()) -> None:
        self._lock = threading.RLock()
        self._submissions: dict[tuple[str, str], Submission] = {}
        for submission in submissions:
            self.put(submission)

    def put(self, submission: Submission) -> None:
        """Store (or replace) one submission."""
        with self._lock:
            self._submissions[(submission.form, submission.id)] = submission

    def page(self, form: str, *, after: str | None, limit: int, status: str | None) -> SubmissionPage:
        """The next `limit` submissions after the id `after` (newest first), optionally of one status."""
        with self._lock:
            found = sorted((s for (f, _), s in self._submissions.items() if f == form
                            and (after is None or s.id < after) and (status is None or s.status == status)),
                           key=lambda s: s.id, reverse=True)
        page = found[:limit]
        return SubmissionPage(page, page[-1].id if len(found) > limit else None)

    def get(self, form: str, submission_id: str) -> Submission | None:
        """One submission, or None."""
        with self._lock:
            return self._submissions.get((form, submission_id))
