"""Export and erasure by address look for a key, not an address to mail: what was stored is always reachable."""
from __future__ import annotations

import pytest
from ulid import ULID

from chalicelib.core.errors import MalformedRequestError
from chalicelib.core.submission import Submission
from chalicelib.wiring import MemoryStores, build_memory_services

from .support import Clock, memory_settings


def test_an_address_stored_before_stricter_checks_is_still_erased() -> None:
    stores = MemoryStores()
    services = build_memory_services(memory_settings(), stores, clock=Clock())
    old = "Ann..Lee@Example.com"  # refused by today's intake check, but it may be on file
    submission = Submission(form="contact", id=str(ULID()), created_at=Clock()(), status="received",
                            answers={"email": old, "message": "Hello"}, language="en", respondent_email=old)
    stores.submissions.put(submission)
    assert [s["id"] for s in services.addresses.export("ann..lee@example.com", None)["submissions"]] == [
        submission.id]
    assert services.addresses.erase(old, None)["erased"] == [f"contact/{submission.id}"]
    assert stores.submissions.get("contact", submission.id) is None


@pytest.mark.parametrize("given", ["", "no at sign", "ann@", "@example.com", "ann @example.com", "ann@exa\nmple.com",
                                   "a" * 250 + "@example.com"])
def test_what_cannot_be_an_address_is_refused_with_what_to_give(given: str) -> None:
    services = build_memory_services(memory_settings())
    with pytest.raises(MalformedRequestError, match="like name@example.com"):
        services.addresses.erase(given, None)
