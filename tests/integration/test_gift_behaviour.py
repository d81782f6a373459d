"""GiftService behaviour of tests/unit/services/test_gift_service.py, on DynamoDB Local's gift tables."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.config import Settings
from chalicelib.gifts.store import GiftStore
from tests.unit.services.test_gift_service import TestGiftService as GiftServiceBehaviour


class TestGiftServiceOnDynamoDB(GiftServiceBehaviour):
    """The same tests, over the session's (emptied) DynamoDB tables."""

    @pytest.fixture
    def service_settings(self, services: Any) -> Settings:
        return services.settings  # type: ignore[no-any-return]

    @pytest.fixture
    def store(self, services: Any) -> GiftStore:
        return services.gifts.store  # type: ignore[no-any-return]
