"""Helpers for the gift tests: a campaign in a temporary forms folder, a movable clock, submissions, links."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ulid import ULID

from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.gifts.model import Gift
from chalicelib.gifts.service import GiftService

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def gift_service(services: Any, folder: Path, campaign: str = "test-gift", **spec: Any) -> GiftService:
    """A GiftService over the test tables, with one campaign for customer-survey defined in `folder`."""
    forms_dir = folder / "forms"
    (forms_dir / "gifts").mkdir(parents=True, exist_ok=True)
    survey = json.loads((ROOT / "forms" / "customer-survey.json").read_text(encoding="utf-8"))
    survey["x-form"]["gift"] = {"campaign": campaign}
    (forms_dir / "customer-survey.json").write_text(json.dumps(survey), encoding="utf-8")
    definition = {"form": "customer-survey", "title": {"en": "A thank-you coupon", "ru": "Купон"},
                  "value": "15% off", "codes": {"source": "pool"}, "digital": True, **spec}
    (forms_dir / "gifts" / f"{campaign}.json").write_text(json.dumps(definition), encoding="utf-8")
    settings = replace(services.settings, forms_dir=forms_dir)
    return GiftService(settings, FormRegistry(forms_dir), services.gifts.store, clock=Clock())


def submission(email: str | None, *, status: str = "received", submission_id: str | None = None,
               language: str = "en") -> Submission:
    """A stored customer-survey submission as the post-write consumers receive it."""
    return Submission(form="customer-survey", id=submission_id or str(ULID()), created_at=datetime.now(UTC),
                      status=status, answers={"nps": 9, "email": email}, language=language,
                      respondent_email=email)


def codes_csv(count: int, prefix: str = "SHOP") -> str:
    """A shop export: a header and `count` codes."""
    return "code\n" + "".join(f"{prefix}-{n:05d}\n" for n in range(count))


def promised(gifts: GiftService, address: str) -> tuple[str, str]:
    """(gift id, token) of the link an answer from `address` earns: no code is taken yet."""
    outcome = gifts.promise(submission(address))
    assert outcome is not None and outcome.gift is not None and outcome.token is not None
    return outcome.gift.id, outcome.token


def claimed(gifts: GiftService, address: str) -> tuple[Gift, str]:
    """The claimed gift (its code taken) of `address`, and its token."""
    gift_id, token = promised(gifts, address)
    return gifts.claim(gift_id, token).gift, token
