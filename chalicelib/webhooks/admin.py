"""What the webhook admin routes read from a request, checked with a message a person can act on."""
from __future__ import annotations

import re
from datetime import datetime

from chalicelib.core.errors import MalformedRequestError, NotFoundError
from chalicelib.webhooks.targets import TARGET_NAME

EVENT_ID = re.compile(r"^[0-9]{13}[0-9a-f]{16}$")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def parse_limit(raw: str | None) -> int:
    """`?limit=` as a number from 1 to MAX_LIMIT (DEFAULT_LIMIT when absent)."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise MalformedRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def parse_since(raw: str) -> datetime:
    """The `since` field: a date-time with a time zone, e.g. 2026-12-01T00:00:00Z."""
    if not raw:
        raise MalformedRequestError("Send `since`, the time to replay events from, e.g. 2026-12-01T00:00:00Z.")
    try:
        since = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise MalformedRequestError(f"since={raw[:40]!r} is not a date-time with a time zone, "
                                    "e.g. 2026-12-01T00:00:00Z.")
    return since


def check_names(target: str, event_id: str | None = None) -> None:
    """A target name and event id that could exist (checked before any read)."""
    if not re.match(TARGET_NAME, target):
        raise NotFoundError(f"There is no webhook named {target[:40]!r}.")
    if event_id is not None and not EVENT_ID.match(event_id):
        raise NotFoundError(f"There is no webhook event {event_id[:40]!r}.")
