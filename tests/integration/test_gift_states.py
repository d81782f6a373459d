"""The gift state machine, explored by Hypothesis against DynamoDB Local and checked against a plain model.

Each example gets its own campaign and codes, so examples never see each other's items. An answer promises a
link and takes no code; the claim takes one, so the pool runs out only as links are claimed. Wrong tokens are
counted per client (every guess here comes from one), and the right token is never turned away.
"""
from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chalicelib.core.addresses import normalise_address
from chalicelib.core.errors import AlreadyRedeemedError, ConflictError, GiftGoneError, GiftLinkError, RateLimitedError
from chalicelib.gifts.service import WRONG_TOKENS_PER_HOUR, GiftService, GiftsRanOutError

from .gift_support import Clock, codes_csv, gift_service, submission

POOL = 4
DAYS_VALID = 10
# Spellings that reach the same few mailboxes.
ADDRESSES = ["ann@example.com", "Ann@Example.com", "ann+x@example.com", "bob.b@gmail.com", "bobb@googlemail.com",
             "cy@example.com", "dee@example.com", "eve@example.com", "fay@example.com"]


@dataclass
class ModelGift:
    """What the model expects of one gift."""

    id: str
    code: str | None  # None until the claim takes one
    token: str
    state: str
    expires_at: datetime
    redeemed_at: datetime | None = None


def test_gift_state_machine(services: Any) -> None:
    class GiftMachine(RuleBasedStateMachine):
        gifts = Bundle("gifts")

        def __init__(self) -> None:
            super().__init__()
            campaign = f"state-{secrets.token_hex(4)}"
            self.service: GiftService = gift_service(services, Path(tempfile.mkdtemp()), campaign,
                                                     expiry={"daysAfterIssue": DAYS_VALID})
            self.campaign = campaign
            self.service.load_codes(campaign, codes_csv(POOL, campaign.upper()))
            clock = self.service.clock
            assert isinstance(clock, Clock)
            self.clock = clock
            self.by_person: dict[str, ModelGift] = {}
            self.wrong: dict[str, int] = {}  # window -> wrong tokens of the one client
            # Wrong tokens count per client in a table every example shares: each example is its own client.
            self.ip = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
            self.known: dict[str, ModelGift] = {}

        # --- helpers ---------------------------------------------------------------------------------------

        def window(self) -> str:
            return self.clock.now.strftime("%Y%m%d%H")

        def limited(self) -> bool:
            return self.wrong.get(self.window(), 0) >= WRONG_TOKENS_PER_HOUR

        def past_expiry(self, gift: ModelGift) -> bool:
            return gift.state in ("promised", "claimed") and gift.expires_at <= self.clock.now

        def codes_left(self) -> int:
            return POOL - sum(1 for g in self.known.values() if g.code is not None)

        # --- rules -----------------------------------------------------------------------------------------

        @rule(target=gifts, address=st.sampled_from(ADDRESSES))
        def answer(self, address: str) -> Any:
            person = normalise_address(address)
            outcome = self.service.promise(submission(address))
            assert outcome is not None
            if person in self.by_person:
                assert outcome.gift is not None and outcome.gift.id == self.by_person[person].id
                assert not outcome.created
                return self.by_person[person]
            if self.codes_left() == 0:
                assert outcome.out_of_stock
                return None
            assert outcome.gift is not None and outcome.created and outcome.token
            assert outcome.gift.code is None and outcome.gift.state == "promised"  # an answer takes no code
            gift = ModelGift(outcome.gift.id, None, outcome.token, "promised",
                             self.clock.now + timedelta(days=DAYS_VALID))
            self.by_person[person] = gift
            self.known[gift.id] = gift
            return gift

        @rule(gift=gifts)
        def view(self, gift: ModelGift | None) -> None:
            if gift is None:
                return
            try:
                page = self.service.view(gift.id, gift.token, self.ip)
            except GiftGoneError:
                assert gift.state in ("expired", "revoked") or self.past_expiry(gift)
                return  # a GET records nothing: the model's stored state stays as it is
            assert gift.state not in ("expired", "revoked") and not self.past_expiry(gift)
            assert page.code is None

        @rule(gift=gifts)
        def claim(self, gift: ModelGift | None) -> None:
            if gift is None:
                return
            try:
                page = self.service.claim(gift.id, gift.token, self.ip)
            except GiftsRanOutError:
                assert gift.state == "promised" and not self.past_expiry(gift) and self.codes_left() == 0
                return
            except GiftGoneError:
                assert gift.state in ("expired", "revoked") or self.past_expiry(gift)
                if self.past_expiry(gift):
                    gift.state = "expired"
                return
            assert gift.state in ("promised", "claimed", "redeemed") and not self.past_expiry(gift)
            assert page.code is not None
            if gift.state == "promised":
                assert self.codes_left() > 0
                taken = {g.code for g in self.known.values()}
                gift.code = page.code.replace("-", "")
                assert gift.code not in taken  # a code goes to one gift
                gift.state = "claimed"
            assert page.code.replace("-", "") == gift.code

        @rule(gift=gifts, guess=st.text(min_size=0, max_size=40))
        def wrong_token(self, gift: ModelGift | None, guess: str) -> None:
            if gift is None or guess == gift.token:
                return
            try:
                self.service.claim(gift.id, guess, self.ip)
            except GiftLinkError:
                assert not self.limited()
                self.wrong[self.window()] = self.wrong.get(self.window(), 0) + 1
                return
            except RateLimitedError:
                assert self.limited()
                return
            raise AssertionError("a wrong token opened a gift")

        @rule(gift=gifts, own=st.booleans())
        def redeem(self, gift: ModelGift | None, own: bool) -> None:
            if gift is None:
                return
            if gift.code is None and not own:
                return  # no code to type at the shop before the claim takes one
            try:
                if own:
                    self.service.redeem_own(gift.id, gift.token, self.ip)
                else:
                    self.service.redeem_code((gift.code or "").lower())
            except AlreadyRedeemedError as refused:
                assert gift.state == "redeemed" and gift.redeemed_at is not None
                assert refused.redeemed_at == gift.redeemed_at.isoformat()
                return
            except GiftGoneError:
                assert gift.state in ("expired", "revoked") or self.past_expiry(gift)
                if self.past_expiry(gift):
                    gift.state = "expired"
                return
            except ConflictError:
                assert gift.state == "promised"
                return
            assert gift.state == "claimed" and not self.past_expiry(gift)
            gift.state, gift.redeemed_at = "redeemed", self.clock.now

        @rule(gift=gifts)
        def revoke(self, gift: ModelGift | None) -> None:
            if gift is None:
                return
            try:
                self.service.revoke(gift.id)
            except ConflictError:
                assert gift.state not in ("promised", "claimed")
                return
            assert gift.state in ("promised", "claimed")
            gift.state = "revoked"

        @rule(days=st.sampled_from([0.04, 1, 4, 11]))
        def time_passes(self, days: float) -> None:
            self.clock.advance(days=days)

        @rule()
        def expire_due(self) -> None:
            due = [g for g in self.known.values() if self.past_expiry(g)]
            assert self.service.expire_due(self.campaign) == len(due)
            for gift in due:
                gift.state = "expired"

        # --- invariants -------------------------------------------------------------------------------------

        @invariant()
        def storage_matches_the_model(self) -> None:
            stock = self.service.stock(self.campaign)
            states = [g.state for g in self.known.values()]
            expected = {name: states.count(name)
                        for name in ("promised", "issued", "claimed", "redeemed", "expired", "revoked")}
            assert {name: stock[name] for name in expected} == expected
            assert stock["available"] == self.codes_left() and stock["loaded"] == POOL
            for gift in self.known.values():
                stored = self.service.store.gift(gift.id)
                assert stored is not None and stored.state == gift.state and stored.code == gift.code
                events = [e.event for e in self.service.store.history(gift.id)]
                assert events[0] == "promised" and events[-1] == gift.state and len(events) == len(set(events))

    run_state_machine_as_test(GiftMachine, settings=settings(
        max_examples=12, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
