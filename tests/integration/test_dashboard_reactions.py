"""The case page's reactions over HTTP (chalice.test.Client on DynamoDB Local): an idea's decision told to the
client, a referral's outcome, each behind the session's CSRF token; hostile values are a clear 400."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.cases.model import RESOLVED
from chalicelib.jobs import dispatch
from tests.integration.test_dashboard import FORM, _csrf, _h, post_contact, session_cookie
from tests.integration.test_dashboard import ann as ann  # the labelled key, a fixture
from tests.unit.services.support import Clock
from tests.unit.services.test_case_service import contact

pytestmark = pytest.mark.usefixtures("ann")


def test_an_idea_s_decision_is_recorded_from_its_case_page_and_emailed(client: Any, services: Any,
                                                                       tmp_path: Any) -> None:
    from chalicelib.mail.transport import OutboxMailer
    services.delivery.mailer, original_mailer = OutboxMailer(tmp_path / "outbox"), services.delivery.mailer
    try:
        submission = post_contact(client, services, "idea", "Dark mode, please")
        dispatch(services.consumers, submission)
        cookie = session_cookie(client)
        link = f"/admin/cases/contact/{submission.id}"
        page = client.http.get(link, headers={"Cookie": cookie})
        assert b"Record and tell the client" in page.body
        for hostile in ("maybe", "", "accepted\r\nBcc: x@evil.example"):
            refused = client.http.post(f"{link}/decision", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                       body=urlencode({"csrf": _csrf(page.body), "decision": hostile}))
            assert refused.status_code == 400 and b"must be one of" in refused.body
        forged = client.http.post(f"{link}/decision", headers={**FORM, "Cookie": cookie},
                                  body=urlencode({"csrf": "nope", "decision": "accepted"}))
        assert forged.status_code == 403 and services.cases.get("contact", submission.id).decision is None
        decided = client.http.post(f"{link}/decision", headers={**FORM, "Cookie": cookie}, body=urlencode(
            {"csrf": _csrf(page.body), "decision": "accepted", "note": "It ships in May."}))
        assert decided.status_code == 303 and _h(decided)["location"] == f"{link}?done=decision"
        case = services.cases.get("contact", submission.id)
        assert case.status == RESOLVED and case.decision.decision == "accepted" and case.decision.who == "ann"
        outbox = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml")]
        assert any("It ships in May." in text and "In-Reply-To:" in text for text in outbox)
        after = client.http.get(_h(decided)["location"], headers={"Cookie": cookie})
        assert b"Decision recorded" in after.body and b"It ships in May." in after.body
    finally:
        services.delivery.mailer = original_mailer


def test_a_referral_s_outcome_is_recorded_from_its_case_page(client: Any, services: Any) -> None:
    referral = contact(Clock(), "referral", email="lead@example.net")
    services.cases(referral)
    cookie = session_cookie(client)
    link = f"/admin/cases/contact/{referral.id}"
    page = client.http.get(link, headers={"Cookie": cookie})
    assert b"Record the outcome" in page.body
    recorded = client.http.post(f"{link}/outcome", headers={**FORM, "Cookie": cookie},
                                body=urlencode({"csrf": _csrf(page.body), "outcome": "Demo booked."}))
    assert recorded.status_code == 303
    assert services.cases.get("contact", referral.id).outcome == "Demo booked."
    too_long = client.http.post(f"{link}/outcome", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                body=urlencode({"csrf": _csrf(page.body), "outcome": "x" * 501}))
    assert too_long.status_code == 400


def test_a_failed_email_is_resent_from_the_case_page(client: Any, services: Any, tmp_path: Any) -> None:
    from chalicelib.mail.transport import OutboxMailer, PermanentMailError
    from tests.unit.services.test_delivery_service import FakeMailer
    failing = FakeMailer()
    failing.failure = PermanentMailError("mailbox unavailable")
    services.delivery.mailer, original_mailer = failing, services.delivery.mailer
    try:
        question = contact(Clock(), "question")
        services.store.put(question)
        dispatch(services.consumers, question)
        link = f"/admin/cases/contact/{question.id}"
        cookie = session_cookie(client)
        page = client.http.get(link, headers={"Cookie": cookie})
        assert page.body.count(b">Resend</button>") == 2  # the acknowledgement and the notification failed
        services.delivery.mailer = OutboxMailer(tmp_path / "outbox")
        forged = client.http.post(f"{link}/resend", headers={**FORM, "Cookie": cookie},
                                  body=urlencode({"csrf": "nope", "email": "acknowledgement"}))
        assert forged.status_code == 403 and not (tmp_path / "outbox").exists()
        unknown = client.http.post(f"{link}/resend", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                   body=urlencode({"csrf": _csrf(page.body), "email": "x" * 3000}))
        assert unknown.status_code == 404
        resent = client.http.post(f"{link}/resend", headers={**FORM, "Cookie": cookie},
                                  body=urlencode({"csrf": _csrf(page.body), "email": "acknowledgement"}))
        assert resent.status_code == 303 and _h(resent)["location"] == f"{link}?done=resent"
        assert services.delivery.store.get("contact", question.id, "acknowledgement").status == "sent"
        again = client.http.post(f"{link}/resend", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                 body=urlencode({"csrf": _csrf(page.body), "email": "acknowledgement"}))
        assert again.status_code == 409
        after = client.http.get(_h(resent)["location"], headers={"Cookie": cookie})
        assert b"Sent again" in after.body and after.body.count(b">Resend</button>") == 1
    finally:
        services.delivery.mailer = original_mailer


def test_not_spam_moves_a_post_to_the_inbox_and_sends_what_it_was_owed(client: Any, services: Any,
                                                                        tmp_path: Any) -> None:
    from chalicelib.intake.service import SubmitRequest
    from chalicelib.mail.transport import OutboxMailer
    services.delivery.mailer, original_mailer = OutboxMailer(tmp_path / "outbox"), services.delivery.mailer
    try:
        outcome = services.submissions.submit(SubmitRequest(
            form_id="contact", body=urlencode({"name": "Ann Lee", "email": "ann@example.com", "topic": "question",
                                               "message": "Real person here", "consent": "on",
                                               "_gotcha": "autofilled"}).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"}))
        spam = services.store.get("contact", outcome.submission_id)
        assert spam.status == "spam"
        dispatch(services.consumers, spam)
        assert not (tmp_path / "outbox").exists()
        cookie = session_cookie(client)
        link = f"/admin/cases/contact/{spam.id}"
        page = client.http.get(link, headers={"Cookie": cookie})
        assert b"Not spam: move to the inbox" in page.body
        forged = client.http.post(f"{link}/not-spam", headers={**FORM, "Cookie": cookie}, body="csrf=nope")
        assert forged.status_code == 403 and services.store.get("contact", spam.id).status == "spam"
        moved = client.http.post(f"{link}/not-spam", headers={**FORM, "Cookie": cookie},
                                 body=urlencode({"csrf": _csrf(page.body)}))
        assert moved.status_code == 303 and _h(moved)["location"] == f"{link}?done=not-spam"
        cleared = services.store.get("contact", spam.id)
        assert (cleared.status, cleared.feedback_kind) == ("received", "question")
        case = services.cases.get("contact", spam.id)
        assert case.folder == "inbox" and case.kind == "question" and case.due_at is not None
        sent = {d.kind: d.status for d in services.delivery.store.for_submission("contact", spam.id)}
        assert sent == {"acknowledgement": "sent", "notification": "sent"}
        again = client.http.post(f"{link}/not-spam", headers={**FORM, "Cookie": cookie, "Accept": "text/html"},
                                 body=urlencode({"csrf": _csrf(page.body)}))
        assert again.status_code == 409 and len(list((tmp_path / "outbox").glob("*.eml"))) == 2
        inbox = client.http.get("/admin/inbox", headers={"Cookie": cookie})
        assert b"ann@example.com" in inbox.body
    finally:
        services.delivery.mailer = original_mailer
