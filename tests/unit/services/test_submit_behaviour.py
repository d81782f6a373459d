"""The submit service's behaviour on the in-memory store: no I/O beyond reading the form definitions."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.core.config import Settings
from chalicelib.storage.memory import MemorySubmissionStore
from chalicelib.wiring import MemoryStores, Services, build_memory_services
from tests.unit.services.submit_behaviour import Clock, SubmitBehaviour


class MemoryStore:
    """Services on fresh in-memory stores, told to fail through the store itself."""

    def build(self, forms_dir: Path, clock: Clock) -> Services:
        settings = Settings.from_environ({"FORMLOOP_FORMS_DIR": str(forms_dir)})
        return build_memory_services(settings, MemoryStores(), clock=clock)

    @staticmethod
    def _memory(services: Services) -> MemorySubmissionStore:
        assert isinstance(services.store, MemorySubmissionStore)
        return services.store

    def fail_writes(self, services: Services, *, maybe_written: bool) -> None:
        self._memory(services).fail_writes(1000, maybe_written=maybe_written)

    def heal(self, services: Services) -> None:
        self._memory(services).heal()


class TestSubmitOnMemory(SubmitBehaviour):
    """The submit path's behaviour on the in-memory store."""

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


def test_a_deletion_the_memory_store_refuses_says_so() -> None:
    """Without results or deliveries, the store's refusal is the deletion's own message."""
    from chalicelib.core.errors import StorageUnavailableError
    from tests.unit.services.submit_behaviour import FORMS, SURVEY, SubmitBehaviour

    services = MemoryStore().build(FORMS, Clock())
    ann = SubmitBehaviour.post(services, "product-feedback", SURVEY)
    MemoryStore().fail_writes(services, maybe_written=False)
    with pytest.raises(StorageUnavailableError) as caught:
        services.removal.delete("product-feedback", ann.submission_id)
    assert caught.value.message == "The submission could not be deleted just now; please try again."
    assert services.store.get("product-feedback", ann.submission_id) is not None


def test_a_stream_image_reads_back_the_stored_submission() -> None:
    from tests.unit.services.submit_behaviour import CONTACT, FORMS, SubmitBehaviour

    services = MemoryStore().build(FORMS, Clock())
    outcome = SubmitBehaviour.post(services, "contact", CONTACT)
    image = {"form": {"S": "contact"}, "id": {"S": outcome.submission_id}, "status": {"S": "received"}}
    assert services.store.from_stream_image(image) == services.store.get("contact", outcome.submission_id)
