"""Builds Formloop's services from settings: the one place collaborators are wired together."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .admin import AdminAuth
from .config import Settings
from .delivery import DeliveryService
from .errors import NotFoundError
from .exports import ExportService
from .forms import FormRegistry
from .gifts import GiftService
from .mail import OutboxMailer
from .results import ResultsService
from .spam import RateLimiter
from .storage import Submission, SubmissionStore
from .storage.limits import RateLimitStore
from .storage.listing import SubmissionPages
from .storage.results import ResultStore
from .storage.surveys import SurveyStore
from .submissions import SubmissionService
from .surveys import SurveyGuard


class TableOwner(Protocol):
    """A store that owns DynamoDB tables."""

    def create_tables(self) -> None: ...


# Runs after a submission is durably stored (DynamoDB Streams in AWS, the local worker in `make run`).
# Each consumer must be idempotent: a stream record can be delivered more than once.
SubmissionConsumer = Callable[[Submission], None]


@dataclass
class Services:
    """Everything a request handler or the stream worker may call."""

    settings: Settings
    forms: FormRegistry
    store: SubmissionStore
    submissions: SubmissionService
    admin: AdminAuth
    results: ResultsService
    exports: ExportService
    surveys: SurveyGuard
    stores: list[TableOwner] = field(default_factory=list)
    consumers: list[SubmissionConsumer] = field(default_factory=list)
    # Blocks added to the acknowledgement email's template context, e.g. {"gift": {...}}.
    acknowledgement_extras: list[Callable[[Submission], dict[str, Any]]] = field(default_factory=list)
    gifts: GiftService | None = None
    delivery: DeliveryService | None = None

    def outbox(self) -> OutboxMailer:
        """The local outbox folder; NotFoundError unless this is the local stage writing to one."""
        mailer = self.delivery.mailer if self.delivery else None
        if self.settings.stage != "local" or not isinstance(mailer, OutboxMailer):
            raise NotFoundError("There is no outbox here: it exists only when Formloop runs locally.")
        return mailer

    def create_tables(self) -> None:
        """Create every table Formloop uses (idempotent)."""
        for store in self.stores:
            store.create_tables()


def build_services(settings: Settings) -> Services:
    """Wire the services for one deployment (tests pass their own settings)."""
    forms = FormRegistry(settings.forms_dir)
    store = SubmissionStore(settings)
    limits = RateLimitStore(settings)
    result_store = ResultStore(settings)
    survey_store = SurveyStore(settings)
    surveys = SurveyGuard(survey_store, settings.default_retention_days)
    results = ResultsService(forms, result_store, settings.default_retention_days)
    built = Services(settings=settings, forms=forms, store=store,
                    submissions=SubmissionService(settings, forms, store, limiter=RateLimiter(limits),
                                                  surveys=surveys),
                    admin=AdminAuth(settings.admin_key_hashes), results=results,
                    exports=ExportService(forms, SubmissionPages(settings)), surveys=surveys,
                    stores=[store, limits, result_store, survey_store], consumers=[results.consume])
    add_gifts(built)
    if built.gifts is not None:
        results.gift_stock = built.gifts.stock
    add_delivery(built)
    return built


def add_gifts(services: Services) -> None:
    """Register thank-you gifts: their tables, and the gift block of the acknowledgement email."""
    from .storage.gifts import GiftStore
    store = GiftStore(services.settings)
    services.gifts = GiftService(services.settings, services.forms, store)
    services.stores.append(store)
    services.acknowledgement_extras.append(services.gifts.acknowledgement_extra)


def add_delivery(services: Services) -> None:
    """Register email delivery: its tables, and its consumer (acknowledgement, team notification)."""
    from .emails import EmailTemplates
    from .mail import build_mailer
    from .storage.deliveries import DeliveryStore
    settings = services.settings
    store = DeliveryStore(settings)
    services.delivery = DeliveryService(settings, services.forms, store, build_mailer(settings.mail, settings.region),
                                        EmailTemplates(settings.forms_dir / "templates"),
                                        extras=services.acknowledgement_extras)
    services.stores.append(store)
    services.consumers.append(services.delivery)
