"""Cases in memory, with the DynamoDB store's behaviour (inbox order, filters, versions), for the unit tests."""
from __future__ import annotations

import copy
import threading
from datetime import datetime

from chalicelib.cases.model import Case, InboxPage, InboxQuery
from chalicelib.core.addresses import normalise_address
from chalicelib.core.errors import ConditionFailedError


class MemoryCaseStore:
    """Cases by key, and attempt counters; each method holds one lock, as each DynamoDB call is atomic."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.cases: dict[str, Case] = {}
        self.counters: dict[str, int] = {}
        self.reads = 0  # cases handed out by `page` (the bench and the tests compare it with what was shown)

    def create(self, case: Case) -> bool:
        """Store a new case; False when the submission has one already."""
        with self.lock:
            if case.key in self.cases:
                return False
            self.cases[case.key] = copy.deepcopy(case)
            return True

    def get(self, form: str, submission_id: str) -> Case | None:
        """One case, or None."""
        with self.lock:
            found = self.cases.get(f"{form}#{submission_id}")
            return copy.deepcopy(found) if found else None

    def replace(self, case: Case) -> Case:
        """Write a changed case over its version; ConditionFailedError when it changed or vanished."""
        with self.lock:
            stored = self.cases.get(case.key)
            if stored is None or stored.version != case.version:
                raise ConditionFailedError(f"case {case.key} changed meanwhile")
            written = copy.deepcopy(case)
            written.version += 1
            self.cases[case.key] = written
            return copy.deepcopy(written)

    def page(self, query: InboxQuery, now: datetime, limit: int, after: str | None) -> InboxPage:
        """Up to `limit` cases in inbox order after `after`."""
        with self.lock:
            ordered = sorted((case for case in self.cases.values() if matches(case, query, now)),
                             key=lambda case: case.order())
            if after is not None:
                ordered = [case for case in ordered if case.order() > after]
            shown = ordered[:limit]
            self.reads += len(shown)
            more = len(ordered) > limit
            return InboxPage([copy.deepcopy(case) for case in shown], shown[-1].order() if more and shown else None)

    def delete(self, form: str, submission_id: str) -> None:
        """Forget a case."""
        with self.lock:
            self.cases.pop(f"{form}#{submission_id}", None)

    def count_attempt(self, key: str, window_ends: datetime) -> int:
        """Count one more attempt under `key`; how many, this one included."""
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]

    def attempts(self, key: str) -> int:
        """How many attempts were counted under `key`."""
        with self.lock:
            return self.counters.get(key, 0)


def matches(case: Case, query: InboxQuery, now: datetime) -> bool:
    """Whether a case belongs on the inbox page `query` asks for (what the DynamoDB indexes and filters select)."""
    if case.folder != query.folder:
        return False
    if query.form and case.form != query.form:
        return False
    if query.kind and case.kind != query.kind:
        return False
    if query.status and case.status != query.status:
        return False
    if query.overdue and not case.overdue(now):
        return False
    if query.since and case.created_at < query.since:
        return False
    if query.until and case.created_at >= query.until:
        return False
    if query.source and case.source != query.source:
        return False
    return not (query.address and normalise_address(case.respondent or "") != normalise_address(query.address))
