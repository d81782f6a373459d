"""The standard reaction to each kind of feedback, and its due time; a form may override them in
`x-form.reactions` ({"complaint": {"dueHours": 4}}, or `null` for no due time)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Reaction:
    """What a kind of feedback is owed: the reaction in words, and how long the client may wait for it."""

    kind: str
    reaction: str
    due: timedelta | None


DEFAULT_REACTIONS: dict[str, Reaction] = {
    "complaint": Reaction("complaint", "Reply within a day, track it to resolved, then ask whether it is fixed.",
                          timedelta(hours=24)),
    "idea": Reaction("idea", "Evaluate it, record the decision, and tell the client.", timedelta(days=7)),
    "question": Reaction("question", "Answer the client.", timedelta(hours=24)),
    "praise": Reaction("praise", "A thank-you goes out; nothing is due.", None),
    "referral": Reaction("referral", "Contact the lead and record the outcome.", timedelta(days=1)),
}


def reaction_for(settings: Mapping[str, Any], kind: str | None) -> Reaction | None:
    """The reaction a kind of feedback gets from a form (`x-form` settings): its override, else the default."""
    if kind is None:
        return None
    default = DEFAULT_REACTIONS.get(kind)
    override = (settings.get("reactions") or {}).get(kind)
    if not isinstance(override, Mapping) or "dueHours" not in override:
        return default
    hours = override["dueHours"]
    due = timedelta(hours=int(hours)) if hours is not None else None
    return Reaction(kind, default.reaction if default else "", due)


def due_time(settings: Mapping[str, Any], kind: str | None, received: datetime) -> datetime | None:
    """When the first reply to a submission received at `received` is due; None when nothing is due."""
    reaction = reaction_for(settings, kind)
    if reaction is None or reaction.due is None:
        return None
    return received + reaction.due



PRAISE_DELAY_HOURS = 2  # the thank-you for praise waits this long unless the form sets `delayHours`


def praise_delay(settings: Mapping[str, Any]) -> timedelta:
    """How long after praise arrives its thank-you goes out (`x-form.reactions.praise.delayHours`)."""
    hours = ((settings.get("reactions") or {}).get("praise") or {}).get("delayHours")
    return timedelta(hours=int(hours) if hours is not None else PRAISE_DELAY_HOURS)


def next_product(settings: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The praise thank-you's optional next-product link ({"url", "title"}), as the form sets it."""
    found = ((settings.get("reactions") or {}).get("praise") or {}).get("nextProduct")
    return found if isinstance(found, Mapping) and found.get("url") else None
