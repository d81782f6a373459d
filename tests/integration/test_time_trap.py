"""The `spam.minSeconds` time trap: a post back from Formloop's own page sooner than a person could is spam."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from chalicelib.intake.spam import page_token, posted_too_fast

FORM = {"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "Hi", "consent": "on"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _served_token(client) -> str:  # type: ignore[no-untyped-def]
    page = client.http.get("/f/contact").body.decode()
    match = re.search(r'name="_ts" value="([^"]+)"', page)
    assert match, "the form page carries its signed serving time"
    return match.group(1)


def _post(client, token: str):  # type: ignore[no-untyped-def]
    return client.http.post("/f/contact", headers={"Content-Type": "application/x-www-form-urlencoded"},
                            body=urlencode({**FORM, "_ts": token}))


def test_post_sooner_than_min_seconds_is_kept_as_spam(client, services) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    original, services.submissions.clock = services.submissions.clock, clock
    try:
        token = _served_token(client)
        clock.now += timedelta(seconds=1)  # contact.json: minSeconds 3
        bot = _post(client, token)
        clock.now += timedelta(seconds=5)
        person = _post(client, token)
    finally:
        services.submissions.clock = original
    assert bot.status_code == person.status_code == 303  # the bot sees the same success
    statuses = sorted(s.status for s in services.store.list("contact"))
    assert statuses == ["received", "spam"]


def test_forged_or_missing_tokens() -> None:
    from chalicelib.forms.definitions import FormRegistry
    from tests.conftest import ROOT
    definition = FormRegistry(ROOT / "forms").get("contact")
    served = datetime(2030, 1, 1, tzinfo=timezone.utc)
    later = served + timedelta(seconds=10)
    token = page_token("secret", served)
    assert not posted_too_fast(definition, token, "secret", later)
    assert posted_too_fast(definition, token, "other-secret", later)  # signed with another key
    assert posted_too_fast(definition, "1.deadbeef", "secret", later)  # forged
    assert posted_too_fast(definition, "not-a-token", "secret", later)
    assert not posted_too_fast(definition, None, "secret", later)  # plain static forms carry no _ts


def test_422_page_keeps_the_original_serving_time(client, services) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    original, services.submissions.clock = services.submissions.clock, clock
    try:
        token = _served_token(client)
        clock.now += timedelta(seconds=10)
        response = client.http.post("/f/contact", headers={"Content-Type": "application/x-www-form-urlencoded"},
                                    body=urlencode({"name": "Ann", "_ts": token}))
    finally:
        services.submissions.clock = original
    assert response.status_code == 422
    assert f'name="_ts" value="{token}"' in response.body.decode()
