"""Builds Formloop's services from settings: the one place collaborators are wired together."""
from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .forms import FormRegistry
from .storage import SubmissionStore
from .submissions import SubmissionService


@dataclass
class Services:
    """Everything a request handler may call."""

    settings: Settings
    forms: FormRegistry
    store: SubmissionStore
    submissions: SubmissionService


def build_services(settings: Settings) -> Services:
    """Wire the services for one deployment (tests pass their own settings)."""
    forms = FormRegistry(settings.forms_dir)
    store = SubmissionStore(settings)
    return Services(settings=settings, forms=forms, store=store,
                    submissions=SubmissionService(settings, forms, store))
