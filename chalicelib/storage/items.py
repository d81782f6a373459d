"""A plain post's DynamoDB item, written straight from the Submission: PynamoDB is not imported to store it.

The item is exactly what the submissions table's PynamoDB record (submission_tables.py) serialises to —
tests/unit/test_submission_item.py holds the two equal over generated submissions. Anything this does not write
the same way (an answer that is no JSON value, a naive time, a missing status) gets None, and the record writes it.

The address attributes the sparse indexes by address are keyed on are worked out here too (address_index.py
defines the indexes): the in-memory store and every write use the same rules.
"""
from __future__ import annotations

import calendar
import json
from datetime import UTC, timedelta
from typing import Any

from chalicelib.core.addresses import normalise_address
from chalicelib.core.submission import Submission

# Index name -> (the attribute it is keyed by, the Submission field that attribute is derived from).
ADDRESS_INDEXES = {"by-address": ("address", "respondent_email"), "by-reply-address": ("reply_address", "reply_to")}
# As long as an address Formloop accepts can be (RFC 5321); a longer stored value is never looked for.
MAX_ADDRESS_CHARS = 254
# The record's optional text attributes, each named as its Submission field.
_OPTIONAL_TEXT = ("feedback_kind", "language", "origin", "user_agent", "ip_hash", "respondent_email", "reply_to",
                  "subject")


def address_key(address: str | None) -> str | None:
    """The index key of an address: its normalised mailbox, None when it cannot be one (then it is not indexed)."""
    if not address:
        return None
    key = normalise_address(address)
    local, _, domain = key.rpartition("@")
    if not local or not domain or len(key) > MAX_ADDRESS_CHARS or not key.isprintable() or " " in key:
        return None
    return key


def address_attributes(respondent_email: str | None, reply_to: str | None) -> dict[str, str]:
    """The index attributes of a submission: its respondent's key, and its reply-to's when that is another mailbox."""
    respondent, reply = address_key(respondent_email), address_key(reply_to)
    found = {"address": respondent} if respondent else {}
    if reply and reply != respondent:
        found["reply_address"] = reply
    return found


def submission_item(submission: Submission) -> dict[str, Any] | None:
    """The submission as its record's DynamoDB item (keys included), or None when only the record can write it."""
    created_at = submission.created_at
    if created_at.tzinfo is None or type(submission.status) is not str or type(submission.form) is not str \
            or type(submission.id) is not str:
        return None
    answers = _raw_map(submission.answers) if type(submission.answers) is dict else None
    if answers is None:
        return None
    item: dict[str, Any] = {
        "form": {"S": submission.form}, "id": {"S": submission.id},
        # UTCDateTimeAttribute's text: microseconds, always +0000
        "created_at": {"S": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000").zfill(31)},
        "status": {"S": submission.status}, "answers": {"M": answers},
    }
    for name in _OPTIONAL_TEXT:
        value = getattr(submission, name)
        if value is not None:
            if type(value) is not str:
                return None
            item[name] = {"S": value}
    if submission.source is not None:
        source = _raw_map(submission.source) if type(submission.source) is dict else None
        if source is None:
            return None
        item["source"] = {"M": source}
    if submission.retention_days:
        expires_at = created_at + timedelta(days=submission.retention_days)
        item["expires_at"] = {"N": str(calendar.timegm(expires_at.utctimetuple()))}  # TTLAttribute's whole seconds
    for name, key in address_attributes(submission.respondent_email, submission.reply_to).items():
        item[name] = {"S": key}
    return item


def _raw_value(value: Any) -> dict[str, Any] | None:
    """What PynamoDB's raw MapAttribute writes for one JSON-like value (text, number, yes/no, null, list, object),
    without its per-value type lookups; None for anything else."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int or kind is float:
        return {"N": json.dumps(value)}  # NumberAttribute's own encoding
    if value is None:
        return {"NULL": True}
    if kind is list:
        items = [_raw_value(item) for item in value]
        return None if any(item is None for item in items) else {"L": items}
    if kind is dict:
        inner = _raw_map(value)
        return None if inner is None else {"M": inner}
    return None


def _raw_map(values: dict[str, Any]) -> dict[str, Any] | None:
    """A raw map's attributes as PynamoDB serialises them; None if any value is not one `_raw_value` writes."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        item = _raw_value(value)
        if item is None:
            return None
        out[key] = item
    return out
