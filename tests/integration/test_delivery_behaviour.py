"""DeliveryService behaviour of tests/unit/services/test_delivery_service.py, on DynamoDB Local's delivery tables."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.config import Settings
from chalicelib.mail.store import DeliveryStore
from tests.unit.services.test_delivery_service import TestDeliveryService as DeliveryServiceBehaviour


class TestDeliveryServiceOnDynamoDB(DeliveryServiceBehaviour):
    """The same tests, over the session's (emptied) DynamoDB tables."""

    @pytest.fixture
    def service_settings(self, services: Any) -> Settings:
        return services.settings  # type: ignore[no-any-return]

    @pytest.fixture
    def store(self, services: Any) -> DeliveryStore:
        return services.delivery.store  # type: ignore[no-any-return]
