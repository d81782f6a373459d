"""Thank-you gifts: issuing, showing, claiming and redeeming them; their pages and command line.

A campaign lives in `forms/gifts/{campaign}.json`. An earning submission gets one promised gift per respondent per
campaign: a link `/g/{gift}?t=TOKEN` in the acknowledgement, and no code. Claiming the link takes the code, so
only someone who reads that inbox ever takes stock. States: promised -> claimed -> redeemed, or expired /
revoked; every change is one storage transaction.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.core.clock import Clock, utcnow
from chalicelib.core.config import Settings
from chalicelib.core.errors import (
    AlreadyRedeemedError,
    CodesRejectedError,
    ConditionFailedError,
    ConflictError,
    DefinitionError,
    GiftGoneError,
    NotFoundError,
    PayloadTooLargeError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.gifts.availability import AvailableCodes
from chalicelib.gifts.campaigns import (
    MAX_CODE_CHARS,
    Campaign,
    CampaignRegistry,
    generate_code,
    normalise_code,
    parse_codes_csv,
    respondent_key,
    token_hash,
)
from chalicelib.gifts.links import GIFT_ID, WRONG_LINKS_PER_HOUR, LinkGuard, link_token
from chalicelib.gifts.model import UNCLAIMED, Gift, NewGift
from chalicelib.gifts.store import GiftStore, StoreBusyError

log = logging.getLogger("formloop.gifts")
Progress = Callable[[int, int], None]
# Per client (hashed source address) and hour; the right token is never limited.
WRONG_TOKENS_PER_HOUR = WRONG_LINKS_PER_HOUR
# The admin API takes files up to this size; larger pools go through `formloop gifts load`.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class GiftPage:
    """What the gift page shows; `code` only after a POST with the right token."""

    gift: Gift
    campaign: Campaign | None
    language: str
    token: str
    code: str | None = None
    just_redeemed: bool = False


@dataclass(frozen=True)
class Redemption:
    """A code redeemed just now."""

    code: str
    campaign: str
    redeemed_at: datetime
    redeemed_by: str


@dataclass(frozen=True)
class PromiseOutcome:
    """A respondent's promised gift (its link), or out of stock (the submission is accepted either way)."""

    campaign: Campaign
    gift: Gift | None
    created: bool
    token: str | None = None

    @property
    def out_of_stock(self) -> bool:
        return self.gift is None


class GiftsRanOutError(GiftGoneError):
    """Every code was claimed before this promised gift's link was opened."""

    TITLE = "All the gifts have been handed out"


@dataclass(frozen=True)
class LoadReport:
    """What a codes import did."""

    campaign: str
    added: int
    already_present: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "added": self.added, "alreadyPresent": len(self.already_present)}


@contextmanager
def _reaching_storage() -> Iterator[None]:
    """Turn what the gift store reports into the 503 the person sees (usable as a method decorator)."""
    try:
        yield
    except StoreBusyError as exc:
        raise StorageUnavailableError("Gifts are very busy right now; please try again in a few seconds.",
                                      retry_after=2) from exc
    except StoreUnavailableError as exc:
        raise StorageUnavailableError(
            "The gift service could not reach its storage; please try again shortly.") from exc


def when(moment: datetime) -> str:
    """A moment as people read it in pages and messages (UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class GiftService:
    """Issues, shows, claims and redeems gifts; every state change is one conditional transaction."""

    def __init__(self, settings: Settings, forms: FormRegistry, store: GiftStore, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.forms = forms
        self.store = store
        self.clock = clock
        self.campaigns = CampaignRegistry(settings.forms_dir / "gifts")
        self.links = LinkGuard(settings, store, clock)
        self.available = AvailableCodes(lambda campaign: self.store.stock(campaign)["available"])
        # Told of each gift event (issued, claimed, redeemed): chalicelib/wiring.py hands them to webhooks.
        self.on_change: Callable[[str, Gift, datetime], None] | None = None

    def campaign(self, campaign_id: str) -> Campaign:
        """A campaign's definition, or NotFoundError."""
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFoundError(f"There is no gift campaign {campaign_id!r}; its file belongs in forms/gifts/.")
        return campaign

    def token(self, gift_id: str) -> str:
        """The link token of a gift: derived, so a retried email carries the same link; 192 bits."""
        return link_token(self.settings, gift_id)

    def link(self, gift_id: str) -> str:
        """The gift's link for the respondent's email (absolute when Formloop knows its public address)."""
        # FORMLOOP_ADMIN_BASE_URL is Formloop's own public address (the API, with its stage prefix).
        base = self.settings.mail.admin_base_url
        return f"{base.rstrip('/')}/g/{gift_id}?t={self.token(gift_id)}"

    # --- promising ----------------------------------------------------------------------------------------

    def campaign_for(self, submission: Submission) -> Campaign | None:
        """The campaign a submission's form rewards, if any."""
        definition = self.forms.get(submission.form)
        wanted = (definition.settings.get("gift") or {}).get("campaign") if definition else None
        return self.campaigns.get(str(wanted)) if wanted else None

    @staticmethod
    def earns(submission: Submission) -> bool:
        """A stored (so valid), non-spam submission with the respondent's address earns a gift."""
        email = submission.respondent_email or ""
        return submission.status == "received" and "@" in email and len(email) <= 254

    @_reaching_storage()
    def promise(self, submission: Submission) -> PromiseOutcome | None:
        """The respondent's gift link for this submission (the same one on every retry), or None if it earns none.

        No code is taken here: the claim takes it, so addresses nobody reads take no stock. The link is sent
        only while codes are left; when they are all taken, the email says so kindly.
        """
        campaign = self.campaign_for(submission)
        if campaign is None or not self.earns(submission):
            return None
        now = self.clock()
        ends = campaign.ends_at()
        respondent = respondent_key(submission.respondent_email or "")
        if (ends is not None and ends <= now) or not self.available.any_left(campaign.id):
            earlier = self.store.respondent_gift(campaign.id, respondent)
            return PromiseOutcome(campaign, earlier, created=False, token=self.token(earlier.id) if earlier else None)
        gift_id = secrets.token_urlsafe(12)
        new = NewGift(id=gift_id, campaign=campaign.id, respondent=respondent,
                      token_hash=token_hash(self.token(gift_id)), issued_at=now,
                      expires_at=campaign.link_deadline(now), form=submission.form,
                      submission_id=submission.id, language=submission.language)
        result = self.store.promise(new)
        if result.created and self.on_change:
            self.on_change("gift.issued", result.gift, now)
        return PromiseOutcome(campaign, result.gift, result.created, token=self.token(result.gift.id))

    def acknowledgement_extra(self, submission: Submission) -> dict[str, Any]:
        """The `gift` block of the acknowledgement email (promising the gift if not done yet), or nothing."""
        try:
            outcome = self.promise(submission)
        except DefinitionError as exc:
            # A broken campaign file must not hold back the acknowledgement itself; `check` reports it in CI.
            log.error("gift campaign unusable, acknowledgement sent without a gift: %s", exc)
            return {}
        if outcome is None:
            return {}
        language = submission.language
        campaign = outcome.campaign
        return {"gift": {
            "url": self.link(outcome.gift.id) if outcome.gift else None,
            "title": campaign.text("title", language), "value": campaign.text("value", language),
            "description": campaign.text("description", language), "out_of_stock": outcome.out_of_stock,
            "expires_at": when(outcome.gift.expires_at) if outcome.gift and outcome.gift.expires_at else None,
        }}

    # --- the respondent's link ---------------------------------------------------------------------------

    def _past_expiry(self, gift: Gift) -> bool:
        return gift.expires_at is not None and gift.expires_at <= self.clock()

    def _refuse_gone(self, gift: Gift, *, record: bool) -> None:
        """Raise GiftGoneError for a revoked or expired gift; with `record`, store the expiry (POST only)."""
        if gift.state == "revoked":
            raise GiftGoneError("This gift was withdrawn and its code can no longer be used. "
                                "If you think this is a mistake, please reply to the email that brought it.")
        if gift.state == "expired" or (gift.state in (*UNCLAIMED, "claimed") and self._past_expiry(gift)):
            if record and gift.state != "expired":
                try:
                    self.store.transition(gift, "expired", self.clock(), "formloop", expiry="expired")
                except ConditionFailedError:
                    pass  # changed meanwhile (claimed, revoked or already expired): it is gone either way
            date = f" on {when(gift.expires_at)}" if gift.expires_at else ""
            raise GiftGoneError(f"This gift expired{date}, so its code can no longer be used. Thank you for "
                                "your answers all the same!")

    def _page(self, gift: Gift, token: str, *, show_code: bool = False, just_redeemed: bool = False) -> GiftPage:
        campaign = self.campaigns.get(gift.campaign)
        return GiftPage(gift=gift, campaign=campaign, language=gift.language or "en", token=token,
                        code=gift.display if show_code else None, just_redeemed=just_redeemed)

    @_reaching_storage()
    def view(self, gift_id: str, token: str, source_ip: str | None = None) -> GiftPage:
        """The gift page for a GET: what the gift is and a claim button; never changes the gift."""
        gift = self.links.open(gift_id, token, source_ip)
        self._refuse_gone(gift, record=False)
        return self._page(gift, token)

    @_reaching_storage()
    def claim(self, gift_id: str, token: str, source_ip: str | None = None) -> GiftPage:
        """Claim the gift: take its code (promised -> claimed) and show it; claiming again shows the same code.

        GiftsRanOutError when every code was taken before this link was opened.
        """
        gift = self.links.open(gift_id, token, source_ip)
        for _ in range(5):
            self._refuse_gone(gift, record=True)
            if gift.state not in UNCLAIMED:
                return self._page(gift, token, show_code=True)
            try:
                taken = self._take_code(gift)
                if taken is not None and gift.state == "promised":
                    self.available.taken(gift.campaign)  # this call took a code from the pool
                if taken is not None and self.on_change:
                    self.on_change("gift.claimed", taken, self.clock())
            except ConditionFailedError:
                taken = self.store.gift(gift_id) or gift  # claimed, expired or revoked meanwhile: look again
            if taken is None:
                self.available.forget(gift.campaign)
                raise self._ran_out(gift)
            gift = taken
        return self._page(gift, token, show_code=gift.state in ("claimed", "redeemed"))

    def _take_code(self, gift: Gift) -> Gift | None:
        """The claimed gift with its code; None when the pool is empty."""
        if gift.state == "issued":  # handed out with its code before claims took the codes
            return self.store.transition(gift, "claimed", self.clock(), "respondent", expiry="unexpired")
        campaign = self.campaigns.get(gift.campaign)
        expiry = campaign.expiry_for(gift.issued_at) if campaign else gift.expires_at
        return self.store.claim(gift, self.clock(), expiry)

    def _ran_out(self, gift: Gift) -> GiftsRanOutError:
        until = f" This link keeps working until {when(gift.expires_at)}, in case more arrive." \
            if gift.expires_at else ""
        return GiftsRanOutError("We are sorry: all the gifts of this survey were claimed before you opened your "
                                f"link, so there is none left for you. Thank you for your answers all the same!{until}")

    @_reaching_storage()
    def redeem_own(self, gift_id: str, token: str, source_ip: str | None = None) -> GiftPage:
        """The respondent marks a digital gift as used (claimed -> redeemed)."""
        gift = self.links.open(gift_id, token, source_ip)
        campaign = self.campaigns.get(gift.campaign)
        if campaign is None or not campaign.digital:
            raise ConflictError("This gift is redeemed at the shop: show the code there.")
        if gift.state in UNCLAIMED:
            raise ConflictError("Please reveal your code first, then mark it as used.")
        gift = self._redeem(gift, "respondent")
        return self._page(gift, token, show_code=True, just_redeemed=True)

    # --- the shop's side ---------------------------------------------------------------------------------

    @_reaching_storage()
    def redeem_code(self, typed: str, actor: str = "admin") -> Redemption:
        """Mark a code redeemed, exactly once; AlreadyRedeemedError (with when) on every later attempt."""
        code = normalise_code(typed or "")
        if not code or len(code) > MAX_CODE_CHARS:
            raise CodesRejectedError(f"Send the code to redeem as the field 'code' (1-{MAX_CODE_CHARS} characters).")
        found = self.store.gift_of_code(code)
        if found is None:
            raise NotFoundError("No gift campaign has this code. Check it was typed correctly.")
        _, gift_id = found
        gift = self.store.gift(gift_id) if gift_id else None
        if gift is None:
            raise ConflictError("This code has not been given to anyone yet, so it cannot be redeemed.")
        gift = self._redeem(gift, actor)
        assert gift.redeemed_at is not None and gift.display is not None, "a redeemed gift has its code and date"
        return Redemption(code=gift.display, campaign=gift.campaign, redeemed_at=gift.redeemed_at,
                          redeemed_by=gift.redeemed_by or actor)

    def _redeem(self, gift: Gift, actor: str) -> Gift:
        for _ in range(5):
            if gift.state == "redeemed":
                assert gift.redeemed_at is not None, "a redeemed gift records when"
                raise AlreadyRedeemedError(f"This code was already redeemed on {when(gift.redeemed_at)}.",
                                           redeemed_at=gift.redeemed_at.isoformat())
            self._refuse_gone(gift, record=True)
            if gift.state in UNCLAIMED:
                raise ConflictError("This gift has not been claimed by its respondent yet, so it cannot be redeemed.")
            try:
                redeemed = self.store.transition(gift, "redeemed", self.clock(), actor, expiry="unexpired")
                if self.on_change:
                    self.on_change("gift.redeemed", redeemed, self.clock())
                return redeemed
            except ConditionFailedError:
                gift = self.store.gift(gift.id) or gift
        raise ConflictError("This gift is changing right now; please try again.")

    @_reaching_storage()
    def revoke(self, gift_id: str, actor: str = "admin") -> Gift:
        """Withdraw an unredeemed gift (promised or claimed -> revoked); a claimed code is not handed out again."""
        gift = self.store.gift(gift_id) if GIFT_ID.match(gift_id) else None
        if gift is None:
            raise NotFoundError("There is no such gift.")
        for _ in range(5):
            if gift.state not in (*UNCLAIMED, "claimed"):
                raise ConflictError(f"A {gift.state} gift cannot be revoked.")
            try:
                return self.store.transition(gift, "revoked", self.clock(), actor)
            except ConditionFailedError:
                gift = self.store.gift(gift_id) or gift
        raise ConflictError("This gift is changing right now; please try again.")

    @_reaching_storage()
    def expire_due(self, campaign_id: str) -> int:
        """Record the expiry of every gift or unclaimed link past its date (a scan: run from the CLI or a schedule)."""
        self.campaign(campaign_id)
        count = 0
        for gift in self.store.gifts_of(campaign_id):
            if gift.state in (*UNCLAIMED, "claimed") and self._past_expiry(gift):
                try:
                    self.store.transition(gift, "expired", self.clock(), "formloop", expiry="expired")
                    count += 1
                except ConditionFailedError:
                    pass
        return count

    # --- stock ---------------------------------------------------------------------------------------------

    def load_codes(self, campaign_id: str, text: str, progress: Progress | None = None) -> LoadReport:
        """Import a CSV of codes into a pool campaign; codes already present are skipped (re-import is safe)."""
        campaign = self.campaign(campaign_id)
        rows = parse_codes_csv(text)
        return self._add(campaign, rows, progress)

    def load_upload(self, campaign_id: str, body: bytes) -> dict[str, Any]:
        """Load a CSV sent to the admin API: the import report and the stock after it."""
        if len(body) > MAX_UPLOAD_BYTES:
            raise PayloadTooLargeError(f"Send at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB of codes at a time; "
                                       "load larger files with `formloop gifts load`.")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CodesRejectedError("No codes were loaded: the file must be UTF-8 text (CSV).") from None
        report = self.load_codes(campaign_id, text)
        return {**report.as_json(), "stock": self.stock(campaign_id)}

    @_reaching_storage()
    def _add(self, campaign: Campaign, rows: list[tuple[str, str]], progress: Progress | None) -> LoadReport:
        added, present = 0, []
        for start in range(0, len(rows), 1000):
            count, existing = self.store.add_codes(campaign.id, rows[start:start + 1000], self.clock())
            added += count
            present += existing
            if progress:
                progress(min(start + 1000, len(rows)), len(rows))
        self.available.forget(campaign.id)
        return LoadReport(campaign.id, added, present)

    def generate(self, campaign_id: str, count: int, progress: Progress | None = None) -> LoadReport:
        """Add `count` new generated codes to a campaign."""
        campaign = self.campaign(campaign_id)
        codes: dict[str, str] = {}
        while len(codes) < count:
            display = generate_code()
            codes[normalise_code(display)] = display
        return self._add(campaign, list(codes.items()), progress)

    @_reaching_storage()
    def ensure_generated(self, campaign_id: str) -> int:
        """Top a generated campaign up to its `codes.count` (idempotent: run at every start); codes added."""
        campaign = self.campaign(campaign_id)
        missing = campaign.generate_count - self.store.stock(campaign_id)["loaded"] if campaign.generated else 0
        return self.generate(campaign_id, missing).added if missing > 0 else 0

    def ensure_all_generated(self) -> dict[str, int]:
        """Top up every campaign of generated codes (run at each local start): codes added per campaign."""
        return {campaign.id: self.ensure_generated(campaign.id) for campaign in self.campaigns.all()
                if campaign.generated}

    @_reaching_storage()
    def stock(self, campaign_id: str) -> dict[str, Any]:
        """Codes available, links promised, and gifts claimed / redeemed / expired / revoked, with a low-stock flag
        on the codes available (promises take no code, so they do not lower it)."""
        campaign = self.campaign(campaign_id)
        counts = self.store.stock(campaign_id)
        threshold = campaign.low_stock_threshold(counts["loaded"])
        return {"campaign": campaign_id, **counts, "lowStock": counts["available"] <= threshold,
                "lowStockThreshold": threshold}
