"""CaseService behaviour of tests/unit/services/test_case_service.py, on DynamoDB Local's cases table (its
indexes serve the inbox's filters) and delivery tables."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.cases.store import CaseStore
from chalicelib.core.config import Settings
from chalicelib.mail.store import DeliveryStore
from tests.unit.services.test_case_service import TestCaseService as CaseServiceBehaviour


class TestCaseServiceOnDynamoDB(CaseServiceBehaviour):
    """The same tests, over the session's (emptied) DynamoDB tables."""

    @pytest.fixture
    def service_settings(self, services: Any) -> Settings:
        return services.settings  # type: ignore[no-any-return]

    @pytest.fixture
    def store(self, services: Any) -> CaseStore:
        return services.cases.store  # type: ignore[no-any-return]

    @pytest.fixture
    def delivery_store(self, services: Any) -> DeliveryStore:
        return services.delivery.store  # type: ignore[no-any-return]


def test_an_inbox_page_reads_only_what_it_shows_on_dynamodb(services: Any) -> None:
    """DynamoDB's own count of the items each call read: a page of 25 among 80 cases reads 26 (one to peek)."""
    from datetime import timedelta

    from chalicelib.cases.model import InboxQuery
    from chalicelib.storage.base import botocore_client
    from tests.unit.services.support import Clock
    from tests.unit.services.test_case_service import contact
    clock = Clock()
    for index in range(80):
        services.cases(contact(clock, ("praise", "idea", "question", "complaint")[index % 4]))
        clock.advance(minutes=7)
    read: list[tuple[str, int]] = []

    def count(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        read.append((model.name, int(parsed.get("ScannedCount", parsed.get("Count", 0)))))

    client = botocore_client(services.cases.store.cases)
    client.meta.events.register("after-call.dynamodb", count)
    try:
        page = services.cases.store.page(InboxQuery(kind="question"), clock(), 5, None)
        assert len(page.cases) == 5 and read == [("Query", 6)]
        read.clear()
        page = services.cases.store.page(InboxQuery(), clock() + timedelta(days=30), 25, None)
        assert len(page.cases) == 25 and read == [("Query", 26)]
    finally:
        client.meta.events.unregister("after-call.dynamodb", count)
