"""The submit service's behaviour (tests/unit/services/submit_behaviour.py) on DynamoDB Local, with faults injected
at the botocore boundary of the store's own clients."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.config import Settings
from chalicelib.wiring import Services, build_services
from tests.integration.test_storage_failures import Faults, throttled
from tests.unit.services.submit_behaviour import Clock, SubmitBehaviour


class DynamoDBStore:
    """Services on the session's DynamoDB Local tables (emptied by the `services` fixture)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults: list[Faults] = []

    def build(self, forms_dir: Path, clock: Clock) -> Services:
        built = build_services(replace(self.settings, forms_dir=forms_dir))
        built.submissions.clock = clock
        return built

    def fail_writes(self, services: Services, *, maybe_written: bool) -> None:
        faults = Faults(services.store.botocore_clients())  # type: ignore[attr-defined]
        if maybe_written:
            faults.lose_answers()
        else:
            faults.inject(throttled)
        self.faults.append(faults)

    def heal(self, services: Services) -> None:
        for faults in self.faults:
            faults.clear()
        self.faults.clear()


class TestSubmitOnDynamoDB(SubmitBehaviour):
    """The submit path's behaviour on DynamoDB Local."""

    @pytest.fixture
    def store(self, services: Any, settings: Settings) -> Any:
        # `services` empties the tables this store's services share.
        under_test = DynamoDBStore(settings)
        yield under_test
        under_test.heal(services)
