"""What the webhook tests share: a form naming the test receiver, settings with its secret, a clock."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission

ROOT = Path(__file__).resolve().parents[3]
SECRET = "whsec_" + base64.b64encode(b"formloop-test-webhook-secret-32b").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"formloop-old-webhook-secret-32by").decode()


class Clock:
    """A clock the test moves by hand, starting at the real time (receivers check the signed timestamp)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta
        self.now += timedelta(seconds=seconds)


def write_form(forms_dir: Path, webhooks: list[dict[str, Any]]) -> None:
    """The repository's contact form, with these webhook targets, in `forms_dir`."""
    definition = json.loads((ROOT / "forms" / "contact.json").read_text(encoding="utf-8"))
    definition["x-form"]["webhooks"] = webhooks
    forms_dir.mkdir(parents=True, exist_ok=True)
    (forms_dir / "contact.json").write_text(json.dumps(definition), encoding="utf-8")


def webhook_settings(forms_dir: Path, **environ: str) -> Settings:
    """Local-stage settings over `forms_dir`, the CRM target's secret set, one-second calls."""
    return Settings.from_environ({"FORMLOOP_FORMS_DIR": str(forms_dir), "FORMLOOP_WEBHOOK_SECRET_CRM": SECRET,
                                  "FORMLOOP_WEBHOOK_SECRET_CHAT": SECRET,
                                  "FORMLOOP_WEBHOOK_TIMEOUT_SECONDS": "1", **environ})


def contact(clock: Clock, topic: str = "question", status: str = "received") -> Submission:
    """A stored contact submission of one kind of feedback."""
    return Submission(form="contact", id=str(ULID()), created_at=clock(), status=status,
                      answers={"name": "Ann <b>Lee</b>", "email": "ann@example.com", "topic": topic,
                               "message": "Where is it?", "consent": True},
                      feedback_kind=topic, language="en", origin="https://shop.example.com",
                      respondent_email="ann@example.com")
