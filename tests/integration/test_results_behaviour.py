"""ResultsService behaviour of tests/unit/services/test_results_service.py, on DynamoDB Local's results table."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.reporting.store import ResultStore
from tests.unit.services.test_results_service import TestResultsService as ResultsServiceBehaviour


class TestResultsServiceOnDynamoDB(ResultsServiceBehaviour):
    """The same tests, over the session's (emptied) DynamoDB tables."""

    @pytest.fixture
    def store(self, services: Any) -> ResultStore:
        return services.results.store  # type: ignore[no-any-return]
