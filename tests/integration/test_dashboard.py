"""The dashboard over HTTP (chalice.test.Client on DynamoDB Local): sign-in into a signed cookie, its flags, the
CSRF refusal, the throttle on wrong keys, and an overdue question answered from its case page."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.cases.model import ANSWERED
from chalicelib.cases.session import WRONG_KEYS_PER_HOUR
from chalicelib.core.keys import AdminAuth, hash_key
from chalicelib.jobs import dispatch
from tests.integration.admin_support import AUTH, KEY

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post_contact(client: Any, services: Any, topic: str, message: str) -> Any:
    """Ann's contact post through the HTTP app, as stored (its case not opened yet: `dispatch` opens it)."""
    posted = client.http.post("/f/contact", headers={**FORM, "Accept": "application/json"}, body=urlencode(
        {"name": "Ann Lee", "email": "ann@example.com", "topic": topic, "message": message, "consent": "on",
         "_language": "en"}))
    assert posted.status_code in (200, 201), posted.body
    [listed] = services.exports.page("contact", cursor=None, limit=None, status=None)["submissions"]
    return services.store.get("contact", listed["id"])


@pytest.fixture
def ann(services: Any) -> Iterator[None]:
    """The test admin key, labelled "ann"."""
    original = services.admin
    services.admin = AdminAuth([f"ann:{hash_key(KEY)}"])
    yield
    services.admin = original


def _h(response: Any) -> dict[str, str]:
    """A response's headers, names lower-cased."""
    return {name.lower(): value for name, value in response.headers.items()}


def _cookie(response: Any, name: str) -> str:
    header = _h(response).get("set-cookie", "")
    assert header.startswith(f"{name}="), header
    return header


def _csrf(body: bytes) -> str:
    found = re.search(rb'name="csrf" value="([^"]+)"', body)
    assert found, body[:500]
    return found[1].decode()


def sign_in(client: Any, key: str = KEY) -> Any:
    """Open the sign-in page and post `key` from it; the sign-in's response."""
    page = client.http.get("/admin")
    nonce = _cookie(page, "formloop_sign_in").split(";")[0]
    return client.http.post("/admin/sign-in", headers={**FORM, "Cookie": nonce},
                            body=urlencode({"csrf": _csrf(page.body), "key": key}))


def session_cookie(client: Any) -> str:
    signed_in = sign_in(client)
    assert signed_in.status_code == 303 and _h(signed_in)["location"] == "/admin/inbox"
    return _cookie(signed_in, "formloop_session").split(";")[0]


def test_the_sign_in_page_and_its_cookies_carry_the_flags(client: Any, ann: None) -> None:
    page = client.http.get("/admin")
    assert page.status_code == 200 and b"Admin key" in page.body
    policy = _h(page)["content-security-policy"]
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert _h(page)["cache-control"] == "no-store"
    signed_in = sign_in(client)
    cookie = _cookie(signed_in, "formloop_session")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=28800"):
        assert flag in cookie
    assert "Secure" not in cookie  # the local stage is plain http


def test_outside_the_local_stage_the_cookie_is_secure(client: Any, services: Any, ann: None) -> None:
    original = services.settings
    services.settings = dataclasses.replace(original, stage="prod", session_secret="s" * 40, ip_hash_salt="i" * 40)
    try:
        assert "; Secure" in _cookie(sign_in(client), "formloop_session")
    finally:
        services.settings = original


def test_a_wrong_key_is_refused_and_no_session_is_given(client: Any, ann: None) -> None:
    refused = sign_in(client, "not-the-key")
    assert refused.status_code == 401 and b"not valid" in refused.body
    assert "formloop_session" not in _h(refused).get("set-cookie", "")
    assert client.http.get("/admin/inbox").status_code == 303  # no session: back to sign-in


def test_wrong_keys_are_throttled_per_client(client: Any, ann: None) -> None:
    for _ in range(WRONG_KEYS_PER_HOUR):
        assert sign_in(client, "guess").status_code == 401
    throttled = sign_in(client)  # even the right key, until the hour ends
    assert throttled.status_code == 429 and "retry-after" in _h(throttled)


def test_a_post_without_the_session_s_token_is_a_clear_403(client: Any, services: Any, ann: None) -> None:
    cookie = session_cookie(client)
    refused = client.http.post("/admin/sign-out", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                               body=urlencode({"csrf": "forged"}))
    assert refused.status_code == 403 and b"reload the page" in refused.body
    no_cookie = sign_in(client)
    assert no_cookie.status_code == 303
    forged_sign_in = client.http.post("/admin/sign-in", headers=FORM, body=urlencode({"csrf": "x", "key": KEY}))
    assert forged_sign_in.status_code == 403


def test_a_forged_or_tampered_cookie_is_no_session(client: Any, ann: None) -> None:
    cookie = session_cookie(client)
    name, value = cookie.split("=", 1)
    payload, _, signature = value.rpartition(".")
    for forged in (f"{name}={payload}x.{signature}", f"{name}={payload}.{'0' * 64}", f"{name}=garbage"):
        assert client.http.get("/admin/inbox", headers={"Cookie": forged}).status_code == 303


def test_the_json_api_keeps_bearer_keys(client: Any, ann: None) -> None:
    assert client.http.get("/admin/forms/contact/submissions", headers=AUTH).status_code == 200


def test_an_overdue_question_is_answered_from_its_case_page(client: Any, services: Any, ann: None,
                                                            tmp_path: Any) -> None:
    from datetime import timedelta

    from chalicelib.mail.transport import OutboxMailer
    services.delivery.mailer, original_mailer = OutboxMailer(tmp_path / "outbox"), services.delivery.mailer
    try:
        submission = post_contact(client, services, "question", "Where is it?")
        # Received more than a day ago: its question is overdue.
        submission.created_at -= timedelta(hours=30)
        dispatch(services.consumers, submission)
        cookie = session_cookie(client)
        inbox = client.http.get("/admin/inbox?overdue=1", headers={"Cookie": cookie})
        assert inbox.status_code == 200 and b"ann@example.com" in inbox.body and b"overdue by" in inbox.body
        link = f"/admin/cases/contact/{submission.id}"
        page = client.http.get(link, headers={"Cookie": cookie})
        assert page.status_code == 200 and b"Where is it?" in page.body
        replied = client.http.post(f"{link}/reply", headers={**FORM, "Cookie": cookie},
                                   body=urlencode({"csrf": _csrf(page.body), "text": "It ships on Monday."}))
        assert replied.status_code == 303 and _h(replied)["location"] == f"{link}?done=reply"
        case = services.cases.get("contact", submission.id)
        assert case.status == ANSWERED and [c.who for c in case.history] == ["ann"]
        kinds = {d.kind: d.status for d in services.delivery.store.for_submission("contact", submission.id)}
        assert kinds[case.replies[0].delivery_kind] == "sent"
        outbox = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml")]
        assert any("It ships on Monday." in text and "In-Reply-To:" in text for text in outbox)
        after = client.http.get(f"{link}?done=reply", headers={"Cookie": cookie})
        assert b"Reply sent" in after.body and b"answered" in after.body
    finally:
        services.delivery.mailer = original_mailer


def test_a_spam_post_is_deleted_from_its_case_page_with_its_case(client: Any, services: Any, ann: None) -> None:
    from dataclasses import replace

    from chalicelib.intake.service import SubmitRequest
    outcome = services.submissions.submit(SubmitRequest(
        form_id="contact", body=urlencode({"name": "Win", "email": "win@prize.example", "topic": "question",
                                           "message": "You won!", "consent": "on"}).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"}))
    spam = replace(services.store.get("contact", outcome.submission_id), status="spam")
    dispatch(services.consumers, spam)
    cookie = session_cookie(client)
    folder = client.http.get("/admin/inbox?folder=spam", headers={"Cookie": cookie})
    assert b"win@prize.example" in folder.body
    link = f"/admin/cases/contact/{spam.id}"
    page = client.http.get(link, headers={"Cookie": cookie})
    assert b"Delete for good" in page.body
    unforged = client.http.post(f"{link}/delete", headers={**FORM, "Cookie": cookie}, body="csrf=nope")
    assert unforged.status_code == 403 and services.store.get("contact", spam.id) is not None
    deleted = client.http.post(f"{link}/delete", headers={**FORM, "Cookie": cookie},
                               body=urlencode({"csrf": _csrf(page.body)}))
    assert deleted.status_code == 303 and _h(deleted)["location"] == "/admin/inbox?folder=spam&done=deleted"
    assert services.store.get("contact", spam.id) is None and services.cases.store.get("contact", spam.id) is None
    after = client.http.get(_h(deleted)["location"], headers={"Cookie": cookie})
    assert b"were deleted" in after.body and b"win@prize.example" not in after.body.split(b"</summary>")[-1]


@pytest.mark.parametrize("query", ["cursor=garbage", "cursor=eyJhZnRlciI6ImEjYiNjI2QifQ", "kind=bogus",
                                   "status=lost", "form=nope", "folder=trash", "since=2026-13-45"])
def test_a_hostile_or_malformed_inbox_link_is_a_clear_400(client: Any, ann: None, query: str) -> None:
    cookie = session_cookie(client)
    answer = client.http.get(f"/admin/inbox?{query}", headers={"Cookie": cookie, "Accept": "text/html"})
    assert answer.status_code == 400 and (b"must be" in answer.body or b"not valid" in answer.body)


def test_the_next_page_link_continues_where_the_page_ended(client: Any, services: Any, ann: None) -> None:
    from tests.unit.services.support import Clock
    from tests.unit.services.test_case_service import contact
    clock = Clock()
    for _ in range(30):
        services.cases(contact(clock, "praise"))
        clock.advance(minutes=1)
    cookie = session_cookie(client)
    first = client.http.get("/admin/inbox", headers={"Cookie": cookie})
    found = re.search(rb'href="(/admin/inbox\?cursor=[^"]+)">Next page', first.body)
    assert found and first.body.count(b'<tr>') + first.body.count(b'<tr class') == 26  # 25 rows and the head
    second = client.http.get(found[1].decode().replace("&amp;", "&"), headers={"Cookie": cookie})
    assert second.status_code == 200 and b"Next page" not in second.body and b"First page" in second.body
    assert second.body.count(b'data-label="Due"') == 5


@pytest.mark.parametrize("path", ["/admin/cases/contact/not-an-id", f"/admin/cases/contact/{'A' * 3000}",
                                  "/admin/cases/Bad%20Form/01J0000000000000000000000A"])
def test_a_case_link_that_names_no_case_is_a_404(client: Any, ann: None, path: str) -> None:
    cookie = session_cookie(client)
    assert client.http.get(path, headers={"Cookie": cookie}).status_code == 404
