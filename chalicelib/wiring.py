"""Builds Formloop's services from settings: the one place collaborators are wired together.

A post needs only the forms, the submission store and the submit service; everything else (results,
exports, gifts, delivery and mail, their tables and stream consumers) is wired on first use, so a
cold start that only stores a submission never imports those modules.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.config import LOCAL_STAGE, Settings
from chalicelib.core.errors import NotFoundError
from chalicelib.core.keys import AdminAuth
from chalicelib.core.secrets import admin_auth, use_reader_factory
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.intake.ports import SubmissionStorage
from chalicelib.intake.service import SubmissionService
from chalicelib.intake.spam import RateLimiter
from chalicelib.intake.surveys import SurveyGuard
from chalicelib.storage import SubmissionStore
from chalicelib.storage.limits import RateLimitStore
from chalicelib.storage.parameters import SsmParameters
from chalicelib.storage.surveys import SurveyStore

if TYPE_CHECKING:
    from chalicelib.cases.service import CaseService
    from chalicelib.gifts.service import GiftService
    from chalicelib.mail.bounces import BounceRecorder, SuppressionList
    from chalicelib.mail.delivery import DeliveryService
    from chalicelib.mail.transport import Mailer, OutboxMailer
    from chalicelib.privacy.erasure import AddressRequests
    from chalicelib.privacy.removal import SubmissionRemoval
    from chalicelib.reporting.exports import ExportService
    from chalicelib.reporting.results import ResultsService
    from chalicelib.storage.memory import MemorySubmissionStore
    from chalicelib.storage.memory_cases import MemoryCaseStore
    from chalicelib.storage.memory_deliveries import MemoryDeliveryStore
    from chalicelib.storage.memory_gifts import MemoryGiftStore
    from chalicelib.storage.memory_results import MemoryResultStore
    from chalicelib.storage.memory_suppressions import MemorySuppressionStore
    from chalicelib.storage.memory_webhooks import MemoryWebhookStore
    from chalicelib.webhooks.service import WebhookService
    from chalicelib.webhooks.transport import WebhookTransport


class TableOwner(Protocol):
    """A store that owns DynamoDB tables: the PynamoDB models bound to them (storage's business, so `Any` here)."""

    @property
    def models(self) -> list[type[Any]]: ...


# Runs after a submission is durably stored (DynamoDB Streams in AWS, the local worker in `make run`).
# Each consumer must be idempotent: a stream record can be delivered more than once.
SubmissionConsumer = Callable[[Submission], None]

T = TypeVar("T")


class _Unset:
    """A lazy field not given to the constructor: wired on first read."""

    def __repr__(self) -> str:
        return "<wired on first use>"


_UNSET: Any = _Unset()


class _Lazy[T]:
    """A dataclass field (a descriptor) whose value, unless given, is wired by `Services._wire` on first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = "_lazy_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> T:
        if obj is None:
            return _UNSET  # type: ignore[no-any-return]  # the dataclass default: "not given"
        value = obj.__dict__.get(self.slot, _UNSET)
        if value is _UNSET:
            obj._wire()
            value = obj.__dict__[self.slot]
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: Any, value: T) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class Services:
    """Everything a request handler or the stream worker may call.

    `results`, `exports`, `gifts`, `delivery`, `stores`, `consumers` and `acknowledgement_extras` are wired
    on first read (by `build_services`' wiring) unless given; `dataclasses.replace` reads, so copies them.
    """

    settings: Settings
    forms: FormRegistry
    store: SubmissionStorage
    submissions: SubmissionService
    admin: AdminAuth
    surveys: SurveyGuard
    results: _Lazy[ResultsService] = _Lazy()
    exports: _Lazy[ExportService] = _Lazy()
    stores: _Lazy[list[TableOwner]] = _Lazy()
    consumers: _Lazy[list[SubmissionConsumer]] = _Lazy()
    # Blocks added to the acknowledgement email's template context, e.g. {"gift": {...}}.
    acknowledgement_extras: _Lazy[list[Callable[[Submission], dict[str, Any]]]] = _Lazy()
    gifts: _Lazy[GiftService | None] = _Lazy()
    delivery: _Lazy[DeliveryService | None] = _Lazy()
    webhooks: _Lazy[WebhookService | None] = _Lazy()
    # Addresses acknowledgements skip (permanent bounces, complaints); wired with delivery.
    suppressions: _Lazy[SuppressionList | None] = _Lazy()
    # Every submission as a case for the dashboard (chalicelib/cases/); wired with the rest.
    cases: _Lazy[CaseService | None] = _Lazy()
    # What wires the fields above that were not given; None: they start empty (no gifts, no delivery).
    wiring: Callable[[Services], None] | None = field(default=None, repr=False, compare=False)

    def _wire(self) -> None:
        with _WIRING_LOCK:
            given = [name for name in LAZY_FIELDS if self.__dict__.get("_lazy_" + name, _UNSET) is not _UNSET]
            if len(given) == len(LAZY_FIELDS):
                return
            if not given and self.wiring is not None:
                self.wiring(self)  # all of them at once, as build_services always did
            for name, empty in LAZY_FIELDS.items():  # given some but not all: the rest start empty
                if self.__dict__.get("_lazy_" + name, _UNSET) is _UNSET:
                    setattr(self, name, empty())

    def outbox(self) -> OutboxMailer:
        """The local outbox folder; NotFoundError unless this is the local stage writing to one."""
        from chalicelib.mail.transport import OutboxMailer
        mailer = self.delivery.mailer if self.delivery else None
        if self.settings.stage != "local" or not isinstance(mailer, OutboxMailer):
            raise NotFoundError("There is no outbox here: it exists only when Formloop runs locally.")
        return mailer

    @property
    def bounces(self) -> BounceRecorder | None:
        """Applies SES bounce and complaint events; None without email delivery."""
        from chalicelib.mail.bounces import BounceRecorder
        if self.delivery is None or self.suppressions is None:
            return None
        return BounceRecorder(self.delivery.store, self.suppressions)

    @property
    def removal(self) -> SubmissionRemoval:
        """Deletes one submission with what was derived from it (built per use: it only ties stores together)."""
        from chalicelib.privacy.removal import SubmissionRemoval
        return SubmissionRemoval(self.forms, self.store, self.surveys, self.results,
                                 self.delivery.store if self.delivery else None,
                                 self.cases.store if self.cases else None,
                                 self.webhooks.store if self.webhooks else None)

    @property
    def addresses(self) -> AddressRequests:
        """Exports or erases everything about one email address."""
        from chalicelib.privacy.erasure import AddressRequests
        return AddressRequests(self.store, self.removal)

    def create_tables(self) -> None:
        """Create every table Formloop uses, with its TTL (idempotent)."""
        from chalicelib.storage.base import create_tables
        for store in self.stores:
            create_tables(store.models)


_WIRING_LOCK = threading.RLock()
# The lazy fields, and what each holds when nothing wires it.
LAZY_FIELDS: dict[str, Callable[[], Any]] = {
    "results": lambda: None, "exports": lambda: None, "stores": list, "consumers": list,
    "webhooks": lambda: None,
    "acknowledgement_extras": list, "gifts": lambda: None, "delivery": lambda: None, "suppressions": lambda: None,
    "cases": lambda: None,
}


def build_services(settings: Settings) -> Services:
    """Wire the services for one deployment (tests pass their own settings); the submit path at once."""
    use_reader_factory(SsmParameters)  # secrets under FORMLOOP_SECRETS_PATH, read on first use
    # Locally an edited definition is used on the next request; deployed, definitions never change.
    forms = FormRegistry(settings.forms_dir, watch=settings.stage == LOCAL_STAGE)
    limits = RateLimitStore(settings)
    survey_store = SurveyStore(settings)
    store = SubmissionStore(settings, limits, survey_store)
    surveys = SurveyGuard(survey_store, settings.default_retention_days)
    submit_stores: list[TableOwner] = [store, limits, survey_store]

    def wire_the_rest(built: Services) -> None:
        _wire_the_rest(built, submit_stores)

    return Services(settings=settings, forms=forms, store=store,
                    submissions=SubmissionService(settings, forms, store, limiter=RateLimiter(limits),
                                                  surveys=surveys),
                    admin=admin_auth(settings.admin_key_hashes, settings.secrets_path, settings.region),
                    surveys=surveys, wiring=wire_the_rest)


@dataclass
class MemoryStores:
    """In-memory stores to build Services on, for unit tests: plain Python, no I/O, no tables.

    Every store interface has one here; `build_memory_services` wires the same services `build_services` does over
    them. Give one to keep a handle on it (to fail its writes, or to look inside).
    """

    submissions: MemorySubmissionStore = field(default_factory=lambda: _memory().MemorySubmissionStore())
    results: MemoryResultStore = field(default_factory=lambda: _memory_results().MemoryResultStore())
    gifts: MemoryGiftStore = field(default_factory=lambda: _memory_gifts().MemoryGiftStore())
    deliveries: MemoryDeliveryStore = field(default_factory=lambda: _memory_deliveries().MemoryDeliveryStore())
    webhooks: MemoryWebhookStore = field(default_factory=lambda: _memory_webhooks().MemoryWebhookStore())
    suppressions: MemorySuppressionStore = field(
        default_factory=lambda: _memory_suppressions().MemorySuppressionStore())
    cases: MemoryCaseStore = field(default_factory=lambda: _memory_cases().MemoryCaseStore())


# Imported on use: a deployment never needs the memory stores.
def _memory_cases() -> Any:
    from chalicelib.storage import memory_cases
    return memory_cases


def _memory() -> Any:
    from chalicelib.storage import memory
    return memory


def _memory_results() -> Any:
    from chalicelib.storage import memory_results
    return memory_results


def _memory_gifts() -> Any:
    from chalicelib.storage import memory_gifts
    return memory_gifts


def _memory_deliveries() -> Any:
    from chalicelib.storage import memory_deliveries
    return memory_deliveries


def _memory_webhooks() -> Any:
    from chalicelib.storage import memory_webhooks
    return memory_webhooks


def _memory_suppressions() -> Any:
    from chalicelib.storage import memory_suppressions
    return memory_suppressions


def build_memory_services(settings: Settings, stores: MemoryStores | None = None, *,
                          clock: Clock = utcnow, mailer: Mailer | None = None,
                          webhook_transport: WebhookTransport | None = None) -> Services:
    """Services over in-memory stores (`stores`, or fresh ones), with the forms of `settings` and the given clock.

    Results, exports and gifts are wired on first use as in a deployment; delivery only when a `mailer` is given
    (a unit test's fake provider), since every real one reaches outside the process.
    """
    memory = stores or MemoryStores()
    forms = FormRegistry(settings.forms_dir)
    surveys = SurveyGuard(memory.submissions.surveys, settings.default_retention_days)
    submit = SubmissionService(settings, forms, memory.submissions, clock=clock,
                               limiter=RateLimiter(memory.submissions.limits), surveys=surveys)

    def wire_the_rest(built: Services) -> None:
        from chalicelib.gifts.service import GiftService
        from chalicelib.reporting.exports import ExportService
        from chalicelib.reporting.results import ResultsService
        built.results = ResultsService(forms, memory.results, settings.default_retention_days)
        built.exports = ExportService(forms, memory.submissions)
        built.stores = []  # nothing to create: memory stores have no tables
        built.consumers = []  # in the deployment's order: emails, webhooks, then results and the case
        built.acknowledgement_extras = []
        built.gifts = GiftService(settings, forms, memory.gifts, clock=clock)
        built.acknowledgement_extras.append(built.gifts.acknowledgement_extra)
        built.results.gift_stock = built.gifts.stock
        built.delivery = None
        built.suppressions = None
        if mailer is not None:
            from chalicelib.mail.content import EmailTemplates
            from chalicelib.mail.delivery import DeliveryService
            built.suppressions = memory.suppressions
            built.delivery = DeliveryService(settings, forms, memory.deliveries, mailer,
                                             EmailTemplates(settings.forms_dir / "templates"),
                                             extras=built.acknowledgement_extras, clock=clock,
                                             suppressed=memory.suppressions.is_suppressed)
            built.consumers.append(built.delivery)
        built.webhooks = None
        if webhook_transport is not None:  # a test's receiver: every real target is outside the process
            from chalicelib.webhooks.service import WebhookService
            built.webhooks = WebhookService(settings, forms, memory.webhooks, webhook_transport, clock=clock)
            built.consumers.append(built.webhooks)
            built.gifts.on_change = built.webhooks.gift_changed
        built.consumers.append(built.results.consume)
        from chalicelib.cases.service import CaseService
        connect_cases(built, CaseService(forms, memory.cases, memory.submissions.get, clock=clock))

    return Services(settings=settings, forms=forms, store=memory.submissions, submissions=submit,
                    admin=admin_auth(settings.admin_key_hashes, settings.secrets_path, settings.region),
                    surveys=surveys, wiring=wire_the_rest)


def _wire_the_rest(built: Services, submit_stores: list[TableOwner]) -> None:
    """Results, exports, gifts and delivery, with their tables and consumers (what a post never needs)."""
    from chalicelib.reporting.exports import ExportService
    from chalicelib.reporting.results import ResultsService
    from chalicelib.storage.listing import SubmissionPages
    from chalicelib.storage.results import ResultStore
    settings, forms = built.settings, built.forms
    result_store = ResultStore(settings)
    results = ResultsService(forms, result_store, settings.default_retention_days)
    built.results = results
    built.exports = ExportService(forms, SubmissionPages(settings))
    store, limits, survey_store = submit_stores
    built.stores = [store, limits, result_store, survey_store]  # the order build_services always had
    # A stream record's consumers run one after another: what a person or another system waits for (the emails,
    # then the webhooks) goes first, the counts and the case after.
    built.consumers = []
    built.acknowledgement_extras = []
    add_gifts(built)
    if built.gifts is not None:
        results.gift_stock = built.gifts.stock
    add_delivery(built)
    add_webhooks(built)
    built.consumers.append(results.consume)
    add_cases(built)


def add_gifts(services: Services) -> None:
    """Register thank-you gifts: their tables, and the gift block of the acknowledgement email."""
    from chalicelib.gifts.service import GiftService
    from chalicelib.storage.gifts import GiftStore
    store = GiftStore(services.settings)
    services.gifts = GiftService(services.settings, services.forms, store)
    services.stores.append(store)
    services.acknowledgement_extras.append(services.gifts.acknowledgement_extra)


def add_cases(services: Services) -> None:
    """Register cases: their table, the consumer that opens one per submission, and replies through delivery."""
    from chalicelib.cases.service import CaseService
    from chalicelib.storage.cases import CaseStore
    store = CaseStore(services.settings)
    services.stores.append(store)
    connect_cases(services, CaseService(services.forms, store, services.store.get))


def connect_cases(services: Services, cases: CaseService) -> None:
    """Make `cases` the deployment's: it opens a case per submission, its replies are planned with the emails, and
    its replies and resolutions reach the webhooks."""
    services.cases = cases
    services.consumers.append(cases)
    if services.webhooks is not None:
        cases.on_change = services.webhooks.case_changed
    if services.delivery is not None:
        cases.delivery = services.delivery
        services.delivery.planners.append(cases.planned_replies)


def add_delivery(services: Services) -> None:
    """Register email delivery: its tables, and its consumer (acknowledgement, team notification)."""
    from chalicelib.mail.content import EmailTemplates
    from chalicelib.mail.delivery import DeliveryService
    from chalicelib.mail.transport import build_mailer
    from chalicelib.storage.deliveries import DeliveryStore
    from chalicelib.storage.suppressions import SuppressionStore
    settings = services.settings
    store = DeliveryStore(settings)
    suppressions = SuppressionStore(settings)
    services.suppressions = suppressions
    services.delivery = DeliveryService(settings, services.forms, store, build_mailer(settings.mail, settings.region),
                                        EmailTemplates(settings.forms_dir / "templates"),
                                        extras=services.acknowledgement_extras, suppressed=suppressions.is_suppressed)
    services.stores.append(store)
    services.stores.append(suppressions)
    services.consumers.append(services.delivery)


def add_webhooks(services: Services) -> None:
    """Register webhooks: their table, the submission consumer, and the gift service's events."""
    from chalicelib.storage.webhooks import WebhookStore
    from chalicelib.webhooks.service import WebhookService
    store = WebhookStore(services.settings)
    services.webhooks = WebhookService(services.settings, services.forms, store)
    services.stores.append(store)
    services.consumers.append(services.webhooks)
    if services.gifts is not None:
        services.gifts.on_change = services.webhooks.gift_changed
