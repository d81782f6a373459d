"""GiftService behaviour on the in-memory gift store (tests/integration/test_gift_behaviour.py: on DynamoDB)."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.errors import (
    AlreadyRedeemedError,
    ConflictError,
    GiftGoneError,
    GiftLinkError,
    NotFoundError,
    RateLimitedError,
)
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.gifts.model import Gift
from chalicelib.gifts.service import WRONG_TOKENS_PER_HOUR, GiftService, GiftsRanOutError
from chalicelib.gifts.store import GiftStore
from chalicelib.storage.memory_gifts import MemoryGiftStore

from .support import ROOT, Clock, memory_settings

CAMPAIGN = "unit-gift"


def survey(email: str | None, language: str = "en") -> Submission:
    """A stored customer-survey submission as the post-write consumers receive it."""
    return Submission(form="customer-survey", id=str(ULID()), created_at=Clock()(), status="received",
                      answers={"nps": 9, "email": email}, language=language, respondent_email=email)


def codes(count: int, prefix: str = "SHOP") -> str:
    """A shop export: a header and `count` codes."""
    return "code\n" + "".join(f"{prefix}-{n:05d}\n" for n in range(count))


class TestGiftService:
    """Promise, claim, redeem, revoke and expire gifts through the service, on whatever store the fixture gives."""

    @pytest.fixture
    def service_settings(self) -> Settings:
        """Settings that reach no database (the DynamoDB subclass gives the test session's)."""
        return memory_settings()

    @pytest.fixture
    def store(self) -> GiftStore:
        return MemoryGiftStore()

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def make(self, service_settings: Settings, store: GiftStore, clock: Clock, tmp_path: Path) -> Any:
        """Build a GiftService whose customer-survey rewards CAMPAIGN, defined with `spec`."""
        def build(**spec: Any) -> GiftService:
            forms_dir = tmp_path / "forms"
            (forms_dir / "gifts").mkdir(parents=True, exist_ok=True)
            definition = json.loads((ROOT / "forms" / "customer-survey.json").read_text(encoding="utf-8"))
            definition["x-form"]["gift"] = {"campaign": CAMPAIGN}
            (forms_dir / "customer-survey.json").write_text(json.dumps(definition), encoding="utf-8")
            campaign = {"form": "customer-survey", "title": {"en": "A thank-you coupon"}, "value": "15% off",
                        "codes": {"source": "pool"}, "digital": True, **spec}
            (forms_dir / "gifts" / f"{CAMPAIGN}.json").write_text(json.dumps(campaign), encoding="utf-8")
            return GiftService(replace(service_settings, forms_dir=forms_dir), FormRegistry(forms_dir), store,
                               clock=clock)
        return build

    @pytest.fixture
    def gifts(self, make: Any) -> GiftService:
        service: GiftService = make()
        service.load_codes(CAMPAIGN, codes(3))
        return service

    @staticmethod
    def promised(gifts: GiftService, address: str) -> tuple[str, str]:
        """(gift id, token) of the link an answer from `address` earns."""
        outcome = gifts.promise(survey(address))
        assert outcome is not None and outcome.gift is not None and outcome.token is not None
        return outcome.gift.id, outcome.token

    def claimed(self, gifts: GiftService, address: str) -> tuple[Gift, str]:
        """The claimed gift (with its code) of `address`, and its token."""
        gift_id, token = self.promised(gifts, address)
        return gifts.claim(gift_id, token).gift, token

    def test_one_gift_per_respondent_whatever_the_address_case(self, gifts: GiftService) -> None:
        first = gifts.promise(survey("Ann.Lee@Example.com"))
        again = gifts.promise(survey("  ann.lee@example.COM "))
        assert first is not None and again is not None and first.gift is not None
        assert first.created and not again.created
        assert again.gift == first.gift and again.token == first.token
        stock = gifts.stock(CAMPAIGN)
        assert (stock["promised"], stock["available"], stock["claimed"]) == (1, 3, 0)

    def test_answers_take_no_code_until_their_link_is_claimed(self, gifts: GiftService, store: GiftStore) -> None:
        # Twenty throwaway addresses answer: each gets a link, and the pool keeps every code.
        links = [self.promised(gifts, f"throwaway{n}@example.com") for n in range(20)]
        assert len({gift_id for gift_id, _ in links}) == 20
        assert all(store.gift(gift_id).code is None for gift_id, _ in links)  # type: ignore[union-attr]
        block = gifts.acknowledgement_extra(survey("one.more@example.com"))["gift"]
        assert block["url"] and block["out_of_stock"] is False
        stock = gifts.stock(CAMPAIGN)
        assert (stock["available"], stock["promised"], stock["claimed"], stock["lowStock"]) == (3, 21, 0, True)
        assert [code for code, _, holder in store.codes_of(CAMPAIGN) if holder] == []
        # The claim proves the inbox: only then is a code taken.
        page = gifts.claim(*links[7])
        assert page.code is not None and page.gift.state == "claimed"
        assert store.gift_of_code(page.gift.code or "") == (CAMPAIGN, links[7][0])
        stock = gifts.stock(CAMPAIGN)
        assert (stock["available"], stock["promised"], stock["claimed"]) == (2, 20, 1)

    def test_every_claim_gets_a_different_code_until_stock_runs_out(self, gifts: GiftService,
                                                                     store: GiftStore) -> None:
        links = [self.promised(gifts, f"r{n}@example.com") for n in range(4)]
        handed = [gifts.claim(*link).code for link in links[:3]]
        assert sorted(code or "" for code in handed) == ["SHOP-00000", "SHOP-00001", "SHOP-00002"]
        with pytest.raises(GiftsRanOutError, match="all the gifts of this survey were claimed") as ran_out:
            gifts.claim(*links[3])
        assert ran_out.value.STATUS_CODE == 410 and "SHOP" not in ran_out.value.message
        assert store.gift(links[3][0]).state == "promised"  # type: ignore[union-attr]
        late = gifts.acknowledgement_extra(survey("late@example.com"))["gift"]
        assert late["out_of_stock"] is True and late["url"] is None
        stock = gifts.stock(CAMPAIGN)
        assert (stock["available"], stock["claimed"], stock["promised"], stock["lowStock"]) == (0, 3, 1, True)
        # More codes arrive before the link expires: the same link works.
        gifts.load_codes(CAMPAIGN, codes(1, "MORE"))
        assert gifts.claim(*links[3]).code == "MORE-00000"

    def test_spam_and_anonymous_submissions_earn_nothing(self, gifts: GiftService) -> None:
        assert gifts.promise(replace(survey("ann@example.com"), status="spam")) is None
        assert gifts.promise(survey(None)) is None
        assert gifts.stock(CAMPAIGN)["promised"] == 0

    def test_claiming_twice_shows_the_same_code(self, gifts: GiftService, store: GiftStore) -> None:
        gift_id, token = self.promised(gifts, "ann@example.com")
        assert gifts.view(gift_id, token).code is None  # the page alone reveals nothing
        first = gifts.claim(gift_id, token)
        second = gifts.claim(gift_id, token)
        assert first.code is not None and first.code == second.code == store.gift(gift_id).display  # type: ignore[union-attr]
        assert second.gift.state == "claimed"
        assert [e.event for e in store.history(gift_id)] == ["promised", "claimed"]
        assert gifts.stock(CAMPAIGN)["available"] == 2

    def test_a_code_is_redeemed_once(self, gifts: GiftService, clock: Clock) -> None:
        with pytest.raises(ConflictError, match="not been given to anyone"):
            gifts.redeem_code("SHOP-00000")
        gift, _ = self.claimed(gifts, "ann@example.com")
        assert gift.display is not None
        redeemed = gifts.redeem_code(gift.display.lower(), actor="till-3")
        assert (redeemed.code, redeemed.redeemed_by, redeemed.redeemed_at) == (gift.display, "till-3", clock())
        clock.advance(minutes=5)
        with pytest.raises(AlreadyRedeemedError) as refused:
            gifts.redeem_code(gift.display)
        assert refused.value.redeemed_at == redeemed.redeemed_at.isoformat()
        assert gifts.stock(CAMPAIGN)["redeemed"] == 1

    def test_a_revoked_gift_is_gone_and_a_revoked_promise_took_no_code(self, gifts: GiftService) -> None:
        gift_id, token = self.promised(gifts, "ann@example.com")
        assert gifts.revoke(gift_id).state == "revoked"
        with pytest.raises(GiftGoneError, match="withdrawn"):
            gifts.claim(gift_id, token)
        with pytest.raises(ConflictError, match="revoked gift cannot be revoked"):
            gifts.revoke(gift_id)
        stock = gifts.stock(CAMPAIGN)
        assert (stock["promised"], stock["revoked"], stock["available"]) == (0, 1, 3)

    def test_a_gift_expires_after_its_days(self, make: Any, clock: Clock, store: GiftStore) -> None:
        gifts: GiftService = make(expiry={"daysAfterIssue": 2})
        gifts.load_codes(CAMPAIGN, codes(2))
        gift_id, token = self.promised(gifts, "ann@example.com")
        assert store.gift(gift_id).expires_at == clock() + timedelta(days=2)  # type: ignore[union-attr]
        clock.advance(days=2)
        with pytest.raises(GiftGoneError, match="expired"):
            gifts.view(gift_id, token)
        assert store.gift(gift_id).state == "promised"  # type: ignore[union-attr]  # a GET changes nothing
        with pytest.raises(GiftGoneError, match="expired"):
            gifts.claim(gift_id, token)
        assert store.gift(gift_id).state == "expired"  # type: ignore[union-attr]
        assert gifts.expire_due(CAMPAIGN) == 0  # already recorded
        assert gifts.stock(CAMPAIGN)["available"] == 2  # an expired link took no code

    def test_unclaimed_links_expire_even_when_codes_never_do(self, make: Any, clock: Clock, store: GiftStore) -> None:
        gifts: GiftService = make(claimWithinDays=3)
        gifts.load_codes(CAMPAIGN, codes(2))
        late_id, late_token = self.promised(gifts, "late@example.com")
        soon_id, soon_token = self.promised(gifts, "soon@example.com")
        assert store.gift(late_id).expires_at == clock() + timedelta(days=3)  # type: ignore[union-attr]
        clock.advance(days=2)
        claimed = gifts.claim(soon_id, soon_token).gift
        assert claimed.expires_at is None and store.gift(soon_id).expires_at is None  # type: ignore[union-attr]
        clock.advance(days=1)
        assert gifts.expire_due(CAMPAIGN) == 1
        with pytest.raises(GiftGoneError, match="expired"):
            gifts.claim(late_id, late_token)
        stock = gifts.stock(CAMPAIGN)
        assert (stock["promised"], stock["expired"], stock["claimed"], stock["available"]) == (0, 1, 1, 1)

    def test_the_sweep_records_every_expiry_once(self, make: Any, clock: Clock) -> None:
        gifts: GiftService = make(expiry={"daysAfterIssue": 1})
        gifts.load_codes(CAMPAIGN, codes(3))
        self.claimed(gifts, "r0@example.com")
        for n in range(1, 3):
            gifts.promise(survey(f"r{n}@example.com"))
        assert gifts.expire_due(CAMPAIGN) == 0
        clock.advance(days=1, seconds=1)
        assert gifts.expire_due(CAMPAIGN) == 3
        assert gifts.expire_due(CAMPAIGN) == 0
        assert gifts.stock(CAMPAIGN)["expired"] == 3

    def test_wrong_tokens_are_limited_per_client_per_hour(self, gifts: GiftService, clock: Clock) -> None:
        mine = self.promised(gifts, "ann@example.com")
        theirs = self.promised(gifts, "bob@example.com")
        for n in range(WRONG_TOKENS_PER_HOUR):  # one client, guessing at two gifts
            with pytest.raises(GiftLinkError):
                gifts.view((mine, theirs)[n % 2][0], "not-the-token", "198.51.100.7")
        with pytest.raises(RateLimitedError) as limited:
            gifts.view(theirs[0], "not-the-token", "198.51.100.7")
        assert 0 < limited.value.retry_after <= 3600
        with pytest.raises(GiftLinkError):  # another client is not slowed down by the first one's guesses
            gifts.view(mine[0], "not-the-token", "203.0.113.50")
        clock.advance(hours=1)
        with pytest.raises(GiftLinkError):
            gifts.view(mine[0], "not-the-token", "198.51.100.7")

    def test_wrong_tokens_never_lock_the_owner_out(self, gifts: GiftService) -> None:
        gift_id, token = self.promised(gifts, "ann@example.com")
        for _ in range(WRONG_TOKENS_PER_HOUR + 5):
            with pytest.raises((GiftLinkError, RateLimitedError)):
                gifts.claim(gift_id, "guess", "198.51.100.7")
        # The owner gets in from their own network, and even from the guesser's (a shared office, say).
        assert gifts.view(gift_id, token, "203.0.113.50").code is None
        page = gifts.claim(gift_id, token, "198.51.100.7")
        assert page.code is not None and page.gift.state == "claimed"

    def test_unknown_gift_ids_are_a_plain_404_that_counts_nothing(self, gifts: GiftService) -> None:
        for n in range(WRONG_TOKENS_PER_HOUR + 2):
            with pytest.raises(NotFoundError):
                gifts.view(f"unknownGift{n:05d}", "t", "198.51.100.7")
        with pytest.raises(GiftLinkError):  # the client's first wrong token is still its first
            gifts.view(self.promised(gifts, "ann@example.com")[0], "t", "198.51.100.7")

    def test_loading_the_same_codes_again_adds_nothing(self, gifts: GiftService) -> None:
        report = gifts.load_codes(CAMPAIGN, codes(5))
        assert (report.added, len(report.already_present)) == (2, 3)
        assert gifts.stock(CAMPAIGN)["loaded"] == 5
