"""Address verdicts reached afresh, as on a cold start: the address library's own refusals, not a remembered one."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.forms.formats import _valid_address, is_email


@pytest.fixture(autouse=True)
def fresh_verdicts() -> Iterator[None]:
    # is_email remembers recent verdicts; a new Lambda process starts with none, so every test here does too.
    _valid_address.cache_clear()
    yield
    _valid_address.cache_clear()


@pytest.mark.parametrize("address", ["ánn@example.com", "jörg@bücher.example", "用户@example.com"])
def test_letters_outside_ascii_before_the_at_are_refused(address: str) -> None:
    # SES and most providers take no SMTPUTF8 address, so the library is asked without it.
    assert is_email(address) is False


@pytest.mark.parametrize("address", ["ann..lee@example.com", ".ann@example.com", "ann.@example.com",
                                     "ann@example.invalid", "ann@localhost", "ann@exa_mple.com"])
def test_what_the_library_refuses_stays_refused(address: str) -> None:
    assert is_email(address) is False


@pytest.mark.parametrize("address", ["ann@bücher.example", "ann@xn--bcher-kva.example", "o'brien@example.ie"])
def test_what_the_library_accepts_is_accepted(address: str) -> None:
    assert is_email(address) is True


def test_a_library_verdict_is_the_same_the_second_time() -> None:
    assert [is_email("ánn@example.com") for _ in range(2)] == [False, False]
    assert [is_email("ann@bücher.example") for _ in range(2)] == [True, True]
