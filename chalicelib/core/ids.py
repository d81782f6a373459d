"""Identifiers: every submission gets a ULID (time-sortable, 26 Crockford base-32 characters)."""
from __future__ import annotations

import re

from ulid import ULID

SUBMISSION_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    """A fresh ULID as text: sorts by creation time, unique without coordination."""
    return str(ULID())


def is_submission_id(text: str) -> bool:
    """Whether `text` could be a submission id Formloop gave out (checked before any read)."""
    return bool(SUBMISSION_ID.match(text))
