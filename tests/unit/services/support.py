"""What the service behaviour tests share: a clock moved by hand, and settings that need no database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.core.config import Settings

ROOT = Path(__file__).resolve().parents[3]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2030, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.now += timedelta(**delta)


def memory_settings() -> Settings:
    """Local-stage settings over the repository's forms; no store in the unit tests reads the endpoint."""
    return Settings.from_environ({"FORMLOOP_FORMS_DIR": str(ROOT / "forms")})
