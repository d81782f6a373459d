"""Cases in DynamoDB: one item per submission, and an index per inbox filter so each page reads what it shows.

Every case carries one partition attribute per combination of the inbox's filters (form, kind, status), each
the key of its own global secondary index, sorted by the case's inbox order (due time, then newest first).
A page of the inbox is one Query of the index that matches its filters; "overdue" is a range on the sort key.
Only the date filter is applied as a filter expression (within the chosen index's partition).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.cases.model import Case, InboxPage, InboxQuery, Letter, Reply, StatusChange
from chalicelib.core.addresses import normalise_address
from chalicelib.core.config import Settings
from chalicelib.core.errors import ConditionFailedError, StoreUnavailableError

from .base import bind_model, error_code

ATTEMPT_TTL_MARGIN = timedelta(hours=1)


def _index(name: str, partition: str) -> type[GlobalSecondaryIndex[Any]]:
    """A global secondary index keyed by one partition attribute and the inbox order."""
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    return type(f"Index_{name}", (GlobalSecondaryIndex,), {
        "Meta": meta, partition: UnicodeAttribute(hash_key=True), "order": UnicodeAttribute(range_key=True)})


# The filters an index serves, and its partition attribute: "" serves the whole folder.
FACETS = ("", "f", "k", "s", "fk", "fs", "ks", "fks")


def _attribute(facets: str) -> str:
    return f"by_{facets or 'all'}"


class CaseRecord(Model):
    """One case (items of other kinds share the table: sign-in attempt counters, keyed "attempts#…")."""

    class Meta:
        table_name = "unbound-cases"

    key = UnicodeAttribute(hash_key=True)  # "<form>#<submission id>"
    form = UnicodeAttribute(null=True)
    submission_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    folder = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    respondent = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    history = UnicodeAttribute(null=True)  # JSON list of status changes
    replies = UnicodeAttribute(null=True)  # JSON list of replies
    letters = UnicodeAttribute(null=True)  # JSON list of the reaction's letters
    outcome = UnicodeAttribute(null=True)  # a referral's outcome
    order = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)  # the respondent's normalised address, for search
    uses = NumberAttribute(null=True)  # attempt counters only
    expires_at = TTLAttribute(null=True)  # attempt counters only
    by_all = UnicodeAttribute(null=True)
    by_f = UnicodeAttribute(null=True)
    by_k = UnicodeAttribute(null=True)
    by_s = UnicodeAttribute(null=True)
    by_fk = UnicodeAttribute(null=True)
    by_fs = UnicodeAttribute(null=True)
    by_ks = UnicodeAttribute(null=True)
    by_fks = UnicodeAttribute(null=True)
    index_all = _index("by-all", "by_all")()
    index_f = _index("by-f", "by_f")()
    index_k = _index("by-k", "by_k")()
    index_s = _index("by-s", "by_s")()
    index_fk = _index("by-fk", "by_fk")()
    index_fs = _index("by-fs", "by_fs")()
    index_ks = _index("by-ks", "by_ks")()
    index_fks = _index("by-fks", "by_fks")()
    index_address = _index("by-address", "address")()
    by_source = UnicodeAttribute(null=True)  # "<folder>|src=<source>", for the source filter
    index_source = _index("by-source", "by_source")()


def partition(facets: str, folder: str, form: str | None, kind: str | None, status: str | None) -> str:
    """The partition value of one index for a case (or a query) with these filters."""
    parts = [folder]
    if "f" in facets:
        parts.append(f"f={form}")
    if "k" in facets:
        parts.append(f"k={kind or '-'}")
    if "s" in facets:
        parts.append(f"s={status}")
    return "|".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


def _history(case: Case) -> str:
    return json.dumps([{"at": _stamp(c.at), "who": c.who, "old": c.old, "new": c.new, "note": c.note}
                       for c in case.history])


def _replies(case: Case) -> str:
    return json.dumps([{"id": r.id, "at": _stamp(r.at), "who": r.who, "text": r.text} for r in case.replies])


def _letters(case: Case) -> str | None:
    if not case.letters:
        return None
    return json.dumps([{"id": x.id, "kind": x.kind, "at": _stamp(x.at), "who": x.who,
                        "send_after": _stamp(x.send_after), "decision": x.decision, "note": x.note}
                       for x in case.letters])


def _letter(item: dict[str, str]) -> Letter:
    return Letter(item["id"], item["kind"], datetime.fromisoformat(item["at"]), item["who"],
                  datetime.fromisoformat(item["send_after"]), item.get("decision", ""), item.get("note", ""))


@contextmanager
def _reaching_table(what: str) -> Iterator[None]:
    try:
        yield
    except DoesNotExist:
        raise  # an answer, not a failure: the caller reads it as "none"
    except PynamoDBException as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise ConditionFailedError(f"{what}: changed meanwhile") from exc
        raise StoreUnavailableError(f"cases table unreachable ({what}): {exc}",
                                    maybe_written=error_code(exc) is None) from exc


class CaseStore:
    """Cases with conditional writes (create once, replace over the version read) and indexed inbox pages."""

    def __init__(self, settings: Settings) -> None:
        self.cases: type[CaseRecord] = bind_model(CaseRecord, settings, "cases")  # type: ignore[assignment]

    @property
    def models(self) -> list[type[Model]]:
        return [self.cases]

    def _record(self, case: Case, version: int) -> CaseRecord:
        record = self.cases(case.key, form=case.form, submission_id=case.submission_id, kind=case.kind,
                            status=case.status, folder=case.folder, created_at=case.created_at, due_at=case.due_at,
                            respondent=case.respondent, language=case.language, source=case.source,
                            version=version, history=_history(case), replies=_replies(case), letters=_letters(case),
                            outcome=case.outcome, order=case.order(),
                            address=normalise_address(case.respondent) if case.respondent else None)
        for facets in FACETS:
            setattr(record, _attribute(facets), partition(facets, case.folder, case.form, case.kind, case.status))
        record.by_source = f"{case.folder}|src={case.source}" if case.source else None
        return record

    @staticmethod
    def _case(record: CaseRecord) -> Case:
        history = [StatusChange(datetime.fromisoformat(c["at"]), c["who"], c["old"], c["new"], c.get("note", ""))
                   for c in json.loads(record.history or "[]")]
        replies = [Reply(r["id"], datetime.fromisoformat(r["at"]), r["who"], r["text"])
                   for r in json.loads(record.replies or "[]")]
        assert record.form is not None and record.submission_id is not None and record.created_at is not None
        return Case(form=record.form, submission_id=record.submission_id, kind=record.kind,
                    status=str(record.status), folder=str(record.folder), created_at=record.created_at,
                    due_at=record.due_at, respondent=record.respondent, language=record.language,
                    source=record.source, version=int(record.version or 0), history=history, replies=replies,
                    letters=[_letter(item) for item in json.loads(record.letters or "[]")], outcome=record.outcome)

    def create(self, case: Case) -> bool:
        """Store a new case; False when the submission has one already."""
        try:
            with _reaching_table(f"case {case.key}"):
                self._record(case, 0).save(condition=self.cases.key.does_not_exist())
        except ConditionFailedError:
            return False
        return True

    def get(self, form: str, submission_id: str) -> Case | None:
        """One case, or None."""
        try:
            with _reaching_table(f"case {form}#{submission_id}"):
                return self._case(self.cases.get(f"{form}#{submission_id}", consistent_read=True))
        except DoesNotExist:
            return None

    def replace(self, case: Case) -> Case:
        """Write a changed case over its version; ConditionFailedError when it changed or vanished."""
        with _reaching_table(f"case {case.key}"):
            self._record(case, case.version + 1).save(condition=self.cases.version == case.version)
        stored = self._case(self._record(case, case.version + 1))
        return stored

    def delete(self, form: str, submission_id: str) -> None:
        """Forget a case."""
        with _reaching_table(f"case {form}#{submission_id}"):
            self.cases(f"{form}#{submission_id}").delete()

    def page(self, query: InboxQuery, now: datetime, limit: int, after: str | None) -> InboxPage:
        """Up to `limit` cases in inbox order after `after`: one Query of the index that matches the filters."""
        c = self.cases
        condition = None
        if query.address or query.source:
            # Searching an address or a source: its own index, the other filters within its partition.
            index: Any = c.index_address if query.address else c.index_source
            attribute, value = (("address", normalise_address(query.address)) if query.address
                                else ("by_source", f"{query.folder}|src={query.source}"))
            condition = c.folder == query.folder
            for name, wanted in (("form", query.form), ("kind", query.kind), ("status", query.status),
                                 ("source", query.source if query.address else None)):
                if wanted:
                    condition &= getattr(c, name) == wanted
        else:
            facets = "".join(letter for letter, wanted in (("f", query.form), ("k", query.kind),
                                                             ("s", query.status)) if wanted)
            index = getattr(c, f"index_{facets or 'all'}")
            attribute = _attribute(facets)
            value = partition(facets, query.folder, query.form, query.kind, query.status)
        for bound in ((c.created_at >= query.since) if query.since else None,
                      (c.created_at < query.until) if query.until else None):
            if bound is not None:
                condition = bound if condition is None else condition & bound
        # Overdue cases sort first, by due time: they are exactly the orders before now's.
        range_condition = c.order < f"{int(now.timestamp()):012d}" if query.overdue else None
        start = None
        if after:
            form, _, submission_id = after.split("#", 2)[2].partition("#")
            start = {"key": {"S": f"{form}#{submission_id}"}, "order": {"S": after}, attribute: {"S": value}}
        found: list[Case] = []
        with _reaching_table("inbox"):
            records = iter(index.query(value, range_condition, filter_condition=condition, last_evaluated_key=start,
                                       page_size=limit + 1 if condition is None else None))
            for record in records:
                found.append(self._case(record))
                if len(found) == limit:
                    break
            more = len(found) == limit and next(records, None) is not None
        return InboxPage(found, found[-1].order() if more and found else None)

    def count_attempt(self, key: str, window_ends: datetime) -> int:
        """Count one more attempt under `key`; how many, this one included."""
        c = self.cases
        record = c(f"attempts#{key}")
        with _reaching_table(f"attempts {key}"):
            record.update(actions=[c.uses.add(1), c.expires_at.set(window_ends + ATTEMPT_TTL_MARGIN)])
        return int(record.uses or 0)

    def attempts(self, key: str) -> int:
        """How many attempts were counted under `key`."""
        try:
            with _reaching_table(f"attempts {key}"):
                return int(self.cases.get(f"attempts#{key}", consistent_read=True).uses or 0)
        except DoesNotExist:
            return 0
