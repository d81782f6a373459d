"""WebhookService behaviour of tests/unit/webhooks/test_webhook_service.py, on DynamoDB Local's webhooks table."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.webhooks.store import WebhookStore
from tests.unit.webhooks.test_webhook_service import TestWebhookService as WebhookServiceBehaviour


class TestWebhookServiceOnDynamoDB(WebhookServiceBehaviour):
    """The same tests, over the session's (emptied) DynamoDB table."""

    @pytest.fixture
    def store(self, services: Any) -> WebhookStore:
        return services.webhooks.store  # type: ignore[no-any-return]
