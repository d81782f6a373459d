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
    RateLimitedError,
)
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.gifts.service import WRONG_TOKENS_PER_HOUR, GiftService
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
    """Issue, claim, redeem, revoke and expire gifts through the service, on whatever store the fixture gives."""

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

    def test_one_gift_per_respondent_whatever_the_address_case(self, gifts: GiftService) -> None:
        first = gifts.issue(survey("Ann.Lee@Example.com"))
        again = gifts.issue(survey("  ann.lee@example.COM "))
        assert first is not None and again is not None and first.gift is not None
        assert first.created and not again.created
        assert again.gift == first.gift
        assert gifts.stock(CAMPAIGN)["issued"] == 1 and gifts.stock(CAMPAIGN)["available"] == 2

    def test_every_respondent_gets_a_different_code_until_stock_runs_out(self, gifts: GiftService) -> None:
        outcomes = [gifts.issue(survey(f"r{n}@example.com")) for n in range(4)]
        handed = [o.gift.code for o in outcomes[:3] if o is not None and o.gift is not None]
        assert sorted(handed) == ["SHOP00000", "SHOP00001", "SHOP00002"]
        last = outcomes[3]
        assert last is not None and last.out_of_stock and not last.created
        assert gifts.acknowledgement_extra(survey("late@example.com"))["gift"]["out_of_stock"] is True
        stock = gifts.stock(CAMPAIGN)
        assert (stock["available"], stock["issued"], stock["lowStock"]) == (0, 3, True)

    def test_spam_and_anonymous_submissions_earn_nothing(self, gifts: GiftService) -> None:
        assert gifts.issue(replace(survey("ann@example.com"), status="spam")) is None
        assert gifts.issue(survey(None)) is None
        assert gifts.stock(CAMPAIGN)["issued"] == 0

    def test_claiming_twice_shows_the_same_code(self, gifts: GiftService, store: GiftStore) -> None:
        outcome = gifts.issue(survey("ann@example.com"))
        assert outcome is not None and outcome.gift is not None and outcome.token is not None
        gift_id, token = outcome.gift.id, outcome.token
        assert gifts.view(gift_id, token).code is None  # the page alone reveals nothing
        first = gifts.claim(gift_id, token)
        second = gifts.claim(gift_id, token)
        assert first.code == second.code == outcome.gift.display
        assert second.gift.state == "claimed"
        assert [e.event for e in store.history(gift_id)] == ["issued", "claimed"]

    def test_a_code_is_redeemed_once(self, gifts: GiftService, clock: Clock) -> None:
        outcome = gifts.issue(survey("ann@example.com"))
        assert outcome is not None and outcome.gift is not None and outcome.token is not None
        with pytest.raises(ConflictError, match="not been claimed"):
            gifts.redeem_code(outcome.gift.display)
        gifts.claim(outcome.gift.id, outcome.token)
        redeemed = gifts.redeem_code(outcome.gift.display.lower(), actor="till-3")
        assert (redeemed.code, redeemed.redeemed_by, redeemed.redeemed_at) == (
            outcome.gift.display, "till-3", clock())
        clock.advance(minutes=5)
        with pytest.raises(AlreadyRedeemedError) as refused:
            gifts.redeem_code(outcome.gift.display)
        assert refused.value.redeemed_at == redeemed.redeemed_at.isoformat()
        assert gifts.stock(CAMPAIGN)["redeemed"] == 1

    def test_a_revoked_gift_is_gone(self, gifts: GiftService) -> None:
        outcome = gifts.issue(survey("ann@example.com"))
        assert outcome is not None and outcome.gift is not None and outcome.token is not None
        assert gifts.revoke(outcome.gift.id).state == "revoked"
        with pytest.raises(GiftGoneError, match="withdrawn"):
            gifts.claim(outcome.gift.id, outcome.token)
        with pytest.raises(ConflictError, match="revoked gift cannot be revoked"):
            gifts.revoke(outcome.gift.id)
        stock = gifts.stock(CAMPAIGN)
        assert (stock["issued"], stock["revoked"]) == (0, 1)

    def test_a_gift_expires_after_its_days(self, make: Any, clock: Clock, store: GiftStore) -> None:
        gifts: GiftService = make(expiry={"daysAfterIssue": 2})
        gifts.load_codes(CAMPAIGN, codes(2))
        outcome = gifts.issue(survey("ann@example.com"))
        assert outcome is not None and outcome.gift is not None and outcome.token is not None
        assert outcome.gift.expires_at == clock() + timedelta(days=2)
        clock.advance(days=2)
        with pytest.raises(GiftGoneError, match="expired"):
            gifts.view(outcome.gift.id, outcome.token)
        assert store.gift(outcome.gift.id).state == "issued"  # type: ignore[union-attr]  # a GET changes nothing
        with pytest.raises(GiftGoneError, match="expired"):
            gifts.claim(outcome.gift.id, outcome.token)
        assert store.gift(outcome.gift.id).state == "expired"  # type: ignore[union-attr]
        assert gifts.expire_due(CAMPAIGN) == 0  # already recorded

    def test_the_sweep_records_every_expiry_once(self, make: Any, clock: Clock) -> None:
        gifts: GiftService = make(expiry={"daysAfterIssue": 1})
        gifts.load_codes(CAMPAIGN, codes(3))
        for n in range(3):
            gifts.issue(survey(f"r{n}@example.com"))
        assert gifts.expire_due(CAMPAIGN) == 0
        clock.advance(days=1, seconds=1)
        assert gifts.expire_due(CAMPAIGN) == 3
        assert gifts.expire_due(CAMPAIGN) == 0
        assert gifts.stock(CAMPAIGN)["expired"] == 3

    def test_wrong_tokens_are_limited_per_hour(self, gifts: GiftService, clock: Clock) -> None:
        outcome = gifts.issue(survey("ann@example.com"))
        assert outcome is not None and outcome.gift is not None and outcome.token is not None
        for _ in range(WRONG_TOKENS_PER_HOUR):
            with pytest.raises(GiftLinkError):
                gifts.view(outcome.gift.id, "not-the-token")
        with pytest.raises(RateLimitedError) as limited:
            gifts.view(outcome.gift.id, "not-the-token")
        assert 0 < limited.value.retry_after <= 3600
        with pytest.raises(RateLimitedError):  # the right token waits too: a guesser learns nothing
            gifts.claim(outcome.gift.id, outcome.token)
        clock.advance(hours=1)
        assert gifts.claim(outcome.gift.id, outcome.token).code == outcome.gift.display

    def test_loading_the_same_codes_again_adds_nothing(self, gifts: GiftService) -> None:
        report = gifts.load_codes(CAMPAIGN, codes(5))
        assert (report.added, len(report.already_present)) == (2, 3)
        assert gifts.stock(CAMPAIGN)["loaded"] == 5
