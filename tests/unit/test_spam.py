"""Spam defences: the time trap of Formloop's own form page, the hourly window, and the per-client limit."""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import AdmissionRefusedError, RateLimitedError
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, compile_definition, load_definition
from chalicelib.intake.admission import CountUse
from chalicelib.intake.spam import RateLimiter, _signature, hour_window, page_token, posted_too_fast
from chalicelib.storage.memory import MemoryRateLimitStore, MemorySubmissionStore

FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
CONTACT = load_definition(FORMS_DIR / "contact.json")  # minSeconds 3, perIpPerHour 30
SECRET = "page-secret"
SERVED = datetime(2026, 11, 20, 10, 15, 0, tzinfo=timezone.utc)


def form_with(spam: dict[str, Any] | None, form_id: str = "limited") -> FormDefinition:
    settings: dict[str, Any] = {"kind": "contact"}
    if spam is not None:
        settings["spam"] = spam
    return compile_definition(form_id, {
        "type": "object", "properties": {"name": {"type": "string"}}, "x-form": settings,
    }, f"forms/{form_id}.json")


TIMED = form_with({"minSeconds": 3})


# --- the time trap ------------------------------------------------------------------------------

def test_the_page_token_carries_the_second_the_page_was_served() -> None:
    token = page_token(SECRET, SERVED.replace(microsecond=900_000))
    stamp, signature = token.split(".")
    assert stamp == str(int(SERVED.timestamp())) == "1795169700"
    assert len(signature) == 32 and all(c in "0123456789abcdef" for c in signature)


def test_a_token_from_an_earlier_deploy_still_verifies() -> None:
    # Pages served before a deploy are posted after it: the token's format and signature must not drift.
    token = "1795169700.b510805c4bcb8255ae516b012b5dfdc8"
    assert page_token(SECRET, SERVED) == token
    assert not posted_too_fast(TIMED, token, SECRET, SERVED + timedelta(seconds=3))


@pytest.mark.parametrize("elapsed, too_fast", [
    (0, True), (1, True), (2.999, True), (3, False), (3.001, False), (4, False), (3600 * 24 * 30, False),
])
def test_a_post_sooner_than_min_seconds_after_the_page_was_served_is_too_fast(elapsed: float, too_fast: bool) -> None:
    token = page_token(SECRET, SERVED)
    assert posted_too_fast(TIMED, token, SECRET, SERVED + timedelta(seconds=elapsed)) is too_fast


def test_the_served_second_is_rounded_down_so_a_late_fraction_counts_for_the_visitor() -> None:
    token = page_token(SECRET, SERVED + timedelta(seconds=0.9))
    assert not posted_too_fast(TIMED, token, SECRET, SERVED + timedelta(seconds=3))


def test_a_post_from_before_the_page_was_served_is_too_fast() -> None:
    token = page_token(SECRET, SERVED)
    assert posted_too_fast(TIMED, token, SECRET, SERVED - timedelta(seconds=10))


def test_the_shipped_contact_form_waits_three_seconds() -> None:
    token = page_token(SECRET, SERVED)
    assert posted_too_fast(CONTACT, token, SECRET, SERVED + timedelta(seconds=2))
    assert not posted_too_fast(CONTACT, token, SECRET, SERVED + timedelta(seconds=3))


@pytest.mark.parametrize("token", [
    "1795169700.00000000000000000000000000000000",  # forged signature
    "1795169700",  # no signature
    "1795169700.",
    ".b510805c4bcb8255ae516b012b5dfdc8",  # no stamp
    "1795169000.b510805c4bcb8255ae516b012b5dfdc8",  # a valid signature moved onto another stamp
    "1795169700.b510805c4bcb8255ae516b012b5dfdc",  # one character short
    "1795169700.b510805c4bcb8255ae516b012b5dfdc80",  # one character more
    "-1795169700.b510805c4bcb8255ae516b012b5dfdc8",
    "17951697OO.b510805c4bcb8255ae516b012b5dfdc8",
    "1795169700,b510805c4bcb8255ae516b012b5dfdc8",
    "garbage",
    "1795169700.b510805c4bcb8255ae516b012b5dfdcé",  # a character no signature has
])
def test_a_forged_or_malformed_token_counts_as_too_fast(token: str) -> None:
    # Even long after: the page was not Formloop's, or the stamp was changed.
    assert posted_too_fast(TIMED, token, SECRET, SERVED + timedelta(days=1))


def test_a_token_signed_with_another_secret_counts_as_too_fast() -> None:
    token = page_token("another-secret", SERVED)
    assert posted_too_fast(TIMED, token, SECRET, SERVED + timedelta(hours=1))


def test_stamps_of_up_to_12_digits_are_read() -> None:
    served_in_9000 = datetime(9000, 1, 1, tzinfo=timezone.utc)
    twelve_digits = page_token(SECRET, served_in_9000)
    assert len(twelve_digits.split(".")[0]) == 12
    assert not posted_too_fast(TIMED, twelve_digits, SECRET, served_in_9000 + timedelta(seconds=3))
    assert posted_too_fast(TIMED, twelve_digits, SECRET, served_in_9000 + timedelta(seconds=2))


def test_a_stamp_that_is_not_a_plain_number_counts_as_too_fast_even_when_signed() -> None:
    # A clock set before 1970 signs a negative stamp: it cannot be timed.
    served = datetime(1969, 12, 31, tzinfo=timezone.utc)
    token = page_token(SECRET, served)
    assert token.startswith("-86400.")
    assert posted_too_fast(TIMED, token, SECRET, served + timedelta(hours=1))
    # Digits of another script read as a number too, but no page of Formloop's carries them.
    arabic_indic = "١٧٩٥١٦٩٧٠٠"
    signed = f"{arabic_indic}.{_signature(SECRET, arabic_indic)}"
    assert posted_too_fast(TIMED, signed, SECRET, SERVED + timedelta(days=1))


@pytest.mark.parametrize("token", [None, ""])
def test_a_post_without_a_token_is_not_timed(token: str | None) -> None:
    assert not posted_too_fast(TIMED, token, SECRET, SERVED)


@pytest.mark.parametrize("spam", [None, {}, {"honeypot": "_gotcha"}, {"minSeconds": 0}])
def test_a_form_without_min_seconds_never_times_a_post(spam: dict[str, Any] | None) -> None:
    definition = form_with(spam)
    assert not posted_too_fast(definition, page_token(SECRET, SERVED), SECRET, SERVED)
    assert not posted_too_fast(definition, "forged.token", SECRET, SERVED)


# --- the hourly window --------------------------------------------------------------------------

def test_the_hour_window_is_labelled_by_its_utc_hour_and_ends_at_the_next_hour() -> None:
    label, ends = hour_window(datetime(2026, 11, 20, 10, 59, 59, 999_999, tzinfo=timezone.utc))
    assert (label, ends) == ("2026112010", datetime(2026, 11, 20, 11, 0, tzinfo=timezone.utc))
    assert hour_window(datetime(2026, 11, 20, 11, 0, tzinfo=timezone.utc)) == (
        "2026112011", datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def server_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to Asia/Tokyo (UTC+9) for one test."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_in_tokyo")
def test_the_hour_window_is_utc_whatever_the_servers_time_zone() -> None:
    assert hour_window(datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc)) == (
        "2026112010", datetime(2026, 11, 20, 11, 0, tzinfo=timezone.utc))


def test_the_hour_window_is_the_same_from_any_time_zone() -> None:
    berlin = timezone(timedelta(hours=1))
    assert hour_window(datetime(2026, 11, 20, 11, 30, 15, tzinfo=berlin)) == (
        "2026112010", datetime(2026, 11, 20, 11, 0, tzinfo=timezone.utc))
    label, ends = hour_window(datetime(2026, 12, 31, 23, 45, tzinfo=timezone.utc))
    assert (label, ends) == ("2026123123", datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc))


# --- the per-client hourly limit ----------------------------------------------------------------

SUBMISSION_NUMBERS = itertools.count(1)


def _submission(form: str, now: datetime) -> Submission:
    return Submission(form=form, id=f"01SUB{next(SUBMISSION_NUMBERS):04d}", created_at=now, status="received",
                      answers={})


def _post(store: MemorySubmissionStore, limiter: RateLimiter, definition: FormDefinition, ip_hash: str,
          now: datetime) -> None:
    """Store one post with the use the limiter asks for, as the submit service does."""
    use = limiter.reserve(definition, ip_hash, now)
    store.put(_submission(definition.id, now), admissions=[use] if use else [])


def test_the_limit_admits_exactly_per_ip_per_hour_posts_from_one_client() -> None:
    store = MemorySubmissionStore()
    limiter = RateLimiter(store.limits)
    definition = form_with({"perIpPerHour": 3})
    for _ in range(3):
        _post(store, limiter, definition, "ip-a", SERVED)
    assert limiter.used(definition, "ip-a", SERVED) == 3
    with pytest.raises(AdmissionRefusedError) as refused:
        _post(store, limiter, definition, "ip-a", SERVED + timedelta(minutes=30))
    assert isinstance(refused.value.intent, CountUse)
    assert isinstance(refused.value.intent.refusal, RateLimitedError)
    assert limiter.used(definition, "ip-a", SERVED) == 3
    assert store.count(definition.id) == 3


def test_the_limit_counts_each_client_form_and_hour_apart() -> None:
    store = MemorySubmissionStore()
    limiter = RateLimiter(store.limits)
    definition, other = form_with({"perIpPerHour": 1}), form_with({"perIpPerHour": 1}, "other")
    _post(store, limiter, definition, "ip-a", SERVED)
    _post(store, limiter, definition, "ip-b", SERVED)
    _post(store, limiter, other, "ip-a", SERVED)
    _post(store, limiter, definition, "ip-a", SERVED + timedelta(hours=1))
    assert limiter.used(definition, "ip-a", SERVED) == 1
    assert limiter.used(definition, "ip-a", SERVED + timedelta(hours=1)) == 1
    assert limiter.used(definition, "ip-c", SERVED) == 0
    with pytest.raises(AdmissionRefusedError):
        _post(store, limiter, definition, "ip-b", SERVED + timedelta(minutes=44))


def test_the_use_names_the_window_and_when_it_ends() -> None:
    use = RateLimiter(MemoryRateLimitStore()).reserve(form_with({"perIpPerHour": 5}), "ip-a", SERVED)
    assert use is not None
    assert (use.key, use.limit, use.window_ends) == (
        "limited#ip-a#2026112010", 5, datetime(2026, 11, 20, 11, 0, tzinfo=timezone.utc))


@pytest.mark.parametrize("now, retry_after, minutes", [
    (datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc), 3600, 60),
    (datetime(2026, 11, 20, 10, 30, 0, tzinfo=timezone.utc), 1800, 30),
    (datetime(2026, 11, 20, 10, 30, 1, tzinfo=timezone.utc), 1799, 30),
    (datetime(2026, 11, 20, 10, 58, 59, tzinfo=timezone.utc), 61, 2),
    (datetime(2026, 11, 20, 10, 59, 0, tzinfo=timezone.utc), 60, 1),
    (datetime(2026, 11, 20, 10, 59, 59, 500_000, tzinfo=timezone.utc), 1, 1),
])
def test_a_refused_client_is_told_when_to_try_again(now: datetime, retry_after: int, minutes: int) -> None:
    use = RateLimiter(MemoryRateLimitStore()).reserve(form_with({"perIpPerHour": 1}), "ip-a", now)
    assert use is not None
    refusal = use.refusal
    assert isinstance(refusal, RateLimitedError)
    assert refusal.STATUS_CODE == 429
    assert refusal.retry_after == retry_after
    assert refusal.headers == {"Retry-After": str(retry_after)}
    assert refusal.message == ("Too many submissions from your network to this form in the last hour; "
                               f"please try again in {minutes} minutes.")


@pytest.mark.parametrize("spam", [None, {}, {"minSeconds": 3}])
def test_a_form_without_a_limit_asks_for_no_use(spam: dict[str, Any] | None) -> None:
    assert RateLimiter(MemoryRateLimitStore()).reserve(form_with(spam), "ip-a", SERVED) is None


@pytest.mark.parametrize("ip_hash", [None, ""])
def test_a_client_without_an_address_is_not_limited(ip_hash: str | None) -> None:
    assert RateLimiter(MemoryRateLimitStore()).reserve(form_with({"perIpPerHour": 1}), ip_hash, SERVED) is None
