"""Dashboard sign-in pieces without HTTP: labelled keys, the signed session cookie, CSRF tokens, the cookie's
flags, the session secret's setting, the throttle on wrong keys, and the page policy of the dashboard."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.cases.pages import dashboard_policy, render_sign_in
from chalicelib.cases.session import (
    CsrfError,
    SignInThrottle,
    check_csrf,
    cookie,
    cookies,
    csrf_token,
    issue,
    read,
)
from chalicelib.core.config import SettingError, Settings
from chalicelib.core.errors import RateLimitedError
from chalicelib.core.keys import AdminAuth, hash_key
from chalicelib.pages.csp import source_hash
from chalicelib.storage.memory_cases import MemoryCaseStore

SECRET = "x" * 40
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def test_a_labelled_key_names_who_holds_it_and_bearer_keys_still_work() -> None:
    auth = AdminAuth([f"ann:{hash_key('ann-key')}", hash_key("old-key")])
    assert auth.label_of("ann-key") == "ann"
    assert auth.label_of("old-key") == "admin"
    assert auth.label_of("nobody") is None
    auth.check({"authorization": "Bearer ann-key"})
    assert auth.identify({"authorization": "Bearer old-key"}) == "admin"


def test_settings_take_labelled_hashes_and_refuse_bad_labels() -> None:
    settings = Settings.from_environ({"FORMLOOP_ADMIN_KEY_HASHES": f"ann:{hash_key('a')},{hash_key('b')}"})
    assert AdminAuth(settings.admin_key_hashes).label_of("a") == "ann"
    with pytest.raises(SettingError, match="ann:<digest>"):
        Settings.from_environ({"FORMLOOP_ADMIN_KEY_HASHES": f"ann smith:{hash_key('a')}"})


def test_the_session_secret_has_no_default_outside_the_local_stage() -> None:
    with pytest.raises(SettingError, match="FORMLOOP_SESSION_SECRET"):
        Settings.from_environ({"FORMLOOP_STAGE": "prod"}).secret("session_secret")
    assert Settings.from_environ({}).secret("session_secret")
    with pytest.raises(SettingError, match="FORMLOOP_SESSION_SECRET"):
        Settings.from_environ({"FORMLOOP_SESSION_SECRET": "short"})


def test_a_session_reads_back_until_it_expires() -> None:
    value, session = issue(SECRET, "ann", NOW)
    assert read(SECRET, value, NOW + timedelta(hours=7)) == session
    assert read(SECRET, value, NOW + timedelta(hours=8)) is None


@pytest.mark.parametrize("change", ["payload", "signature", "secret", "empty", "no-dot", "huge", "non-ascii"])
def test_a_tampered_or_foreign_cookie_is_no_session(change: str) -> None:
    value, _ = issue(SECRET, "ann", NOW)
    payload, _, signature = value.rpartition(".")
    forged = {"payload": f"{payload[:-2]}AA.{signature}", "signature": f"{payload}.{'0' * 64}",
              "secret": value, "empty": "", "no-dot": payload, "huge": "a." + "b" * 2000,
              "non-ascii": f"{payload}.{signature[:-1]}é"}[change]
    assert read("y" * 40 if change == "secret" else SECRET, forged, NOW) is None


def test_csrf_tokens_belong_to_one_session() -> None:
    _, mine = issue(SECRET, "ann", NOW)
    _, theirs = issue(SECRET, "bob", NOW)
    check_csrf(SECRET, mine.nonce, csrf_token(SECRET, mine.nonce))
    for nonce, token in ((mine.nonce, csrf_token(SECRET, theirs.nonce)), (mine.nonce, ""), (None, "x"),
                         (mine.nonce, csrf_token(SECRET, mine.nonce)[:-1] + "\u0080")):
        with pytest.raises(CsrfError) as caught:
            check_csrf(SECRET, nonce, token)
        assert caught.value.STATUS_CODE == 403


def test_cookie_flags() -> None:
    local = cookie("formloop_session", "v", secure=False, max_age=60)
    assert local == "formloop_session=v; Path=/admin; Max-Age=60; HttpOnly; SameSite=Strict"
    assert cookie("formloop_session", "v", secure=True, max_age=60).endswith("; Secure")
    assert cookies("a=1; formloop_session=v.w; a=2") == {"a": "1", "formloop_session": "v.w"}


def test_wrong_keys_are_limited_per_client_and_hour() -> None:
    throttle = SignInThrottle(MemoryCaseStore(), limit=3)
    for _ in range(3):
        throttle.check("client-a", NOW)
        throttle.wrong_key("client-a", NOW)
    with pytest.raises(RateLimitedError) as caught:
        throttle.check("client-a", NOW + timedelta(minutes=10))
    assert caught.value.retry_after == 50 * 60
    throttle.check("client-b", NOW)  # another client is not affected
    throttle.check("client-a", NOW + timedelta(hours=1))  # nor the next hour


def test_the_dashboard_policy_allows_its_own_styles_by_hash_and_posts_only_to_formloop() -> None:
    policy = dashboard_policy()
    assert "style-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    page = render_sign_in("token")
    [style] = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert source_hash(style) in policy  # the block as served, not as written
