"""Stampedes against DynamoDB Local: no code claimed twice, no person promised two gifts, one redemption."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ulid import ULID

from chalicelib.core.errors import AlreadyRedeemedError
from chalicelib.gifts.service import GiftService, GiftsRanOutError

from .gift_support import claimed, codes_csv, gift_service, promised, submission

T = TypeVar("T")


def stampede[T](count: int, work: Callable[[int], T], workers: int = 50) -> list[T]:
    """Run `work(i)` for i in range(count) from many threads released at the same moment."""
    start = threading.Barrier(min(count, workers))

    def run(i: int) -> T:
        if i < workers:
            start.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(count)))


def pool_of(services: Any, folder: Path, size: int) -> GiftService:
    gifts = gift_service(services, folder)
    report = gifts.load_codes("test-gift", codes_csv(size))
    assert report.added == size
    return gifts


def test_200_respondents_racing_for_100_codes_get_exactly_100_distinct_gifts(services: Any, tmp_path: Path) -> None:
    gifts = pool_of(services, tmp_path, 100)
    # Every answer gets a link while codes are left: the race is between the claims.
    links = stampede(200, lambda i: promised(gifts, f"respondent{i}@example.com"))
    assert len({gift_id for gift_id, _ in links}) == 200
    assert gifts.stock("test-gift")["available"] == 100

    def claim(i: int) -> Any:
        try:
            return gifts.claim(*links[i]).gift
        except GiftsRanOutError as ran_out:
            return ran_out

    outcomes = stampede(200, claim)
    given = [o for o in outcomes if not isinstance(o, GiftsRanOutError)]
    assert len(given) == 100
    assert len({g.code for g in given}) == 100 and len({g.id for g in given}) == 100
    assert sum(1 for o in outcomes if isinstance(o, GiftsRanOutError)) == 100
    stock = gifts.stock("test-gift")
    assert (stock["available"], stock["claimed"], stock["promised"], stock["loaded"]) == (0, 100, 100, 100)
    # Storage agrees with the answers: every code points at exactly the gift that holds it.
    codes = {code: gift_id for code, _, gift_id in gifts.store.codes_of("test-gift")}
    assert {g.code: g.id for g in given} == codes


def test_20_simultaneous_submissions_by_one_person_give_one_gift(services: Any, tmp_path: Path) -> None:
    gifts = pool_of(services, tmp_path, 50)
    spellings = ["ann.lee@gmail.com", "AnnLee@gmail.com", "ann.lee+survey@googlemail.com", "annlee@gmail.com"]
    outcomes = stampede(20, lambda i: gifts.promise(submission(spellings[i % 4], submission_id=str(ULID()))),
                        workers=20)
    ids = {o.gift.id for o in outcomes if o is not None and o.gift is not None}
    assert len(ids) == 1
    assert sum(1 for o in outcomes if o is not None and o.created) == 1
    stock = gifts.stock("test-gift")
    assert (stock["available"], stock["promised"]) == (50, 1)


def test_50_simultaneous_redemptions_of_one_code_succeed_once(services: Any, tmp_path: Path) -> None:
    gifts = pool_of(services, tmp_path, 3)
    gift, _ = claimed(gifts, "ann@example.com")
    code = gift.display or ""

    def redeem(i: int) -> Any:
        try:
            return gifts.redeem_code(code.lower() if i % 2 else code)
        except AlreadyRedeemedError as refused:
            return refused

    answers = stampede(50, redeem)
    successes = [a for a in answers if not isinstance(a, AlreadyRedeemedError)]
    refusals = [a for a in answers if isinstance(a, AlreadyRedeemedError)]
    assert len(successes) == 1 and len(refusals) == 49
    when = successes[0].redeemed_at.isoformat()
    assert {r.redeemed_at for r in refusals} == {when}
    assert all("already redeemed on" in r.message for r in refusals)
    assert Counter(e.event for e in gifts.store.history(gift.id)) == {"promised": 1, "claimed": 1, "redeemed": 1}
    stock = gifts.stock("test-gift")
    assert (stock["claimed"], stock["redeemed"]) == (0, 1)


def test_simultaneous_claims_of_one_gift_all_show_the_same_code_and_claim_once(services: Any, tmp_path: Path) -> None:
    gifts = pool_of(services, tmp_path, 2)
    gift_id, token = promised(gifts, "ann@example.com")
    pages = stampede(30, lambda i: gifts.claim(gift_id, token))
    assert {p.code for p in pages} == {gifts.store.gift(gift_id).display}  # type: ignore[union-attr]
    assert [e.event for e in gifts.store.history(gift_id)] == ["promised", "claimed"]
    stock = gifts.stock("test-gift")
    assert (stock["promised"], stock["claimed"], stock["available"]) == (0, 1, 1)


def test_loading_the_same_file_from_two_places_at_once_adds_each_code_once(services: Any, tmp_path: Path) -> None:
    gifts = gift_service(services, tmp_path)
    reports = stampede(4, lambda i: gifts.load_codes("test-gift", codes_csv(300)), workers=4)
    assert sum(r.added for r in reports) == 300
    assert gifts.stock("test-gift")["loaded"] == 300 == gifts.stock("test-gift")["available"]
