"""What admitting a submission asks of the stores, as plain data: the domain decides, a store only writes.

An admission is a condition and a change, written in the same all-or-nothing write as the submission it
admits; a release undoes one when its submission is deleted, in the same write as the deletion. Each
admission carries the error the visitor gets when its condition does not hold: a store refusing it
raises AdmissionRefusedError naming the admission, and the submit service raises `admission.refusal`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.errors import FormloopError


@dataclass(frozen=True)
class CountUse:
    """Count one more use of a rate-limit key, only while fewer than `limit` were counted in its window."""

    key: str
    limit: int
    window_ends: datetime  # the key means nothing after this; its counter may then be forgotten
    refusal: FormloopError


@dataclass(frozen=True)
class TakePlace:
    """Take one of a survey's `limit` places, only while one is free."""

    form: str
    limit: int
    refusal: FormloopError


@dataclass(frozen=True)
class MarkRespondent:
    """Mark an address (its hash) as having answered a survey, only if it is not marked yet."""

    form: str
    address_hash: str
    submission_id: str  # the submission that places the marker, so deleting it (and only it) removes the marker
    created_at: datetime
    expires_at: datetime
    refusal: FormloopError


@dataclass(frozen=True)
class GiveBackPlace:
    """One of a survey's places free again (the submission that took it is being deleted)."""

    form: str


@dataclass(frozen=True)
class UnmarkRespondent:
    """Remove an address's marker if `submission_id` placed it; leave it (and write nothing) otherwise."""

    form: str
    address_hash: str
    submission_id: str


Admission = CountUse | TakePlace | MarkRespondent
Release = GiveBackPlace | UnmarkRespondent
