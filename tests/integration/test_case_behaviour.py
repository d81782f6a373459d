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
