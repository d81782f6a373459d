"""The local start page (`/` under `make run`): the forms, the dashboard and the outbox, one link each."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.pages.rendering import render


@dataclass(frozen=True)
class FormLink:
    """One form as the start page lists it."""

    id: str
    title: str
    kind: str


def render_local_home(forms: list[FormLink], outbox_count: int | None) -> str:
    """The page a newcomer opens first; `outbox_count` None when emails go out for real (no outbox to show)."""
    return render("local_home.html", language="en", page_title="Formloop (local)", forms=forms,
                  outbox_count=outbox_count)
