"""Webhook targets as a definition names them (`x-form.webhooks`), the events there are, and their meta-schema.

A target's secret never sits in a definition (anyone can read a form's schema): it comes from the settings,
by the target's name (FORMLOOP_WEBHOOK_SECRET_<NAME>, or the parameter of that name in production).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import DefinitionError
from chalicelib.forms.definitions import FEEDBACK_KINDS

# Every event Formloop emits; new ones are appended here. The meta-schema and the docs read this list.
EVENTS: tuple[str, ...] = (
    "submission.received",
    "submission.spam_cleared",
    "gift.issued",
    "gift.claimed",
    "gift.redeemed",
    "case.replied",
    "case.resolved",
)
FORMATS = ("standard", "slack")
TARGET_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"
MAX_TARGETS = 10

# The `webhooks` key of the x-form meta-schema (chalicelib/forms/checks.py).
WEBHOOKS_SCHEMA: dict[str, Any] = {
    "type": "array", "maxItems": MAX_TARGETS,
    "items": {
        "type": "object", "additionalProperties": False, "required": ["name", "url", "events"],
        "properties": {
            "name": {"type": "string", "pattern": TARGET_NAME},
            # No user name or password in the URL (the request is signed), no spaces.
            "url": {"type": "string", "maxLength": 2000, "pattern": r"^https?://[^\s/?#@]+(/[^\s]*)?$"},
            "events": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(EVENTS)}},
            "kinds": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(FEEDBACK_KINDS)}},
            "format": {"enum": list(FORMATS)},
        },
    },
}


@dataclass(frozen=True)
class Target:
    """Where one form's events go: a name (its secret's), a URL, the events wanted, a kind filter, a format."""

    name: str
    url: str
    events: tuple[str, ...]
    kinds: tuple[str, ...] = ()  # empty: every kind (and submissions with none)
    format: str = "standard"

    def wants(self, event_type: str, kind: str | None) -> bool:
        """Whether this target asked for the event, for a submission of this kind of feedback."""
        return event_type in self.events and (not self.kinds or kind in self.kinds)


def targets_of(settings: Mapping[str, Any]) -> list[Target]:
    """A (checked) definition's webhook targets, from its `x-form` settings."""
    return [Target(name=str(item["name"]), url=str(item["url"]), events=tuple(item["events"]),
                   kinds=tuple(item.get("kinds", ())), format=str(item.get("format", "standard")))
            for item in settings.get("webhooks") or []]


def check_webhooks(targets: Any, source: str) -> None:
    """What the meta-schema cannot say: no secret in a definition, and each name once."""
    if not isinstance(targets, list):
        return  # the meta-schema names what is wrong
    names: set[str] = set()
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            continue
        for key in target:
            if "secret" in str(key).lower():
                raise DefinitionError(source, f"$.x-form.webhooks[{index}].{key}",
                                      "a webhook secret never goes in a definition (anyone can read the form's "
                                      "schema): set FORMLOOP_WEBHOOK_SECRET_<NAME> in the deployment's settings, "
                                      "see docs/webhooks.md")
        name = target.get("name")
        if name in names:
            raise DefinitionError(source, f"$.x-form.webhooks[{index}].name",
                                  f"two webhooks are named {name!r}: each name picks its own secret")
        names.add(str(name))
