"""The owner's dashboard in a browser (/admin, /admin/inbox, /admin/cases/…): signed in with an admin key into a
signed session cookie; every form that changes something carries the session's CSRF token. No GET changes
anything (the sign-in page only sets the cookie its own form's token is bound to)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.core.clock import utcnow

from .edge import field, handles_errors, headers, html, params, request, services
from .media import ANY_TYPE, takes

if TYPE_CHECKING:
    from chalicelib.cases.model import InboxQuery
    from chalicelib.cases.service import CaseService
    from chalicelib.cases.session import Session

dashboard = Blueprint(__name__)

FORM_TYPES = ["application/x-www-form-urlencoded"]
# What a finished action says on the page it returns to (fixed wording: a link cannot put its own words there).
NOTICES = {"status": "Status changed.", "reply": "Reply sent: it is in the emails below.",
           "deleted": "The submission and everything derived from it were deleted.",
           "decision": "Decision recorded; the client is told it by email (below).",
           "outcome": "Outcome recorded.", "resent": "Sent again: its new attempt is in the emails below.",
           "not-spam": "Moved to the inbox: what it was owed (its emails, its count in the results) went."}
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _secret() -> str:
    return services().settings.secret("session_secret")


def _secure() -> bool:
    from chalicelib.core.config import LOCAL_STAGE
    return services().settings.stage != LOCAL_STAGE


def _page(body: str, status: int = 200, extra: dict[str, str] | None = None) -> Response:
    from chalicelib.cases.pages import dashboard_policy
    return html(body, status, {**NO_STORE, **(extra or {})}, policy=dashboard_policy())


def _see(location: str, cookie: str | None = None) -> Response:
    extra: dict[str, str | list[str]] = {**NO_STORE, "Location": location}
    if cookie:
        extra["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=extra)


def _to_sign_in() -> Response:
    """Send a browser without a session to sign in, carrying the page it asked for to come back to after."""
    from urllib.parse import quote, urlencode

    from chalicelib.cases.destination import INBOX, dashboard_destination
    params()  # the query within the submit path's limits first: a hostile one is a 400 or 413, not a redirect
    asked = request()
    path = asked.path  # the route's pattern: its parameters are filled in again, each encoded as one segment
    for name, value in (asked.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    query = asked.query_params
    if query:
        kept = [(name, value) for name in query if name != "done" for value in query.getlist(name)]  # a notice is once
        path += ("?" + urlencode(kept)) if kept else ""
    wanted = dashboard_destination(path)
    return _see("/admin" if wanted in (None, INBOX) else "/admin?" + urlencode({"next": wanted}))


def _cookies() -> dict[str, str]:
    from chalicelib.cases.session import cookies
    return cookies(headers().get("cookie"))


def _session() -> Session | None:
    from chalicelib.cases.session import SESSION_COOKIE, read
    return read(_secret(), _cookies().get(SESSION_COOKIE), utcnow())


def _cases() -> CaseService:
    from chalicelib.core.errors import NotFoundError
    found = services().cases
    if found is None:
        raise NotFoundError("The dashboard is not set up on this server.")
    return found


def _checked_post() -> Session:
    """The session of a state-changing post whose CSRF token matches it; CsrfError (403) otherwise."""
    from chalicelib.cases.session import check_csrf
    session = _session()
    check_csrf(_secret(), session.nonce if session else None, field("csrf"))
    assert session is not None
    return session


def _client() -> str:
    from chalicelib.core.keys import client_hash
    ip = (request().context.get("identity") or {}).get("sourceIp")
    return client_hash(services().settings.secret("ip_hash_salt"), ip or "unknown")


@dashboard.route("/admin", methods=["GET"])
@handles_errors
def sign_in_page() -> Response:
    from chalicelib.cases.destination import after_sign_in
    wanted = params().get("next")
    if _session() is not None:
        return _see(after_sign_in(wanted))
    return _sign_in_page(None, 200, wanted)


def _sign_in_page(error: str | None, status: int, wanted: str | None) -> Response:
    import secrets

    from chalicelib.cases.destination import dashboard_destination
    from chalicelib.cases.pages import render_sign_in
    from chalicelib.cases.session import SIGN_IN_COOKIE, SIGN_IN_MINUTES, cookie, csrf_token
    nonce = secrets.token_urlsafe(16)
    # Only a page of the dashboard's own rides in the form: a crafted link's target is dropped here already.
    body = render_sign_in(csrf_token(_secret(), nonce), error, next_page=dashboard_destination(wanted))
    return _page(body, status, {"Set-Cookie": cookie(SIGN_IN_COOKIE, nonce, secure=_secure(),
                                                     max_age=SIGN_IN_MINUTES * 60)})


@dashboard.route("/admin/sign-in", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def sign_in() -> Response:
    from chalicelib.cases.destination import after_sign_in
    from chalicelib.cases.session import (
        SESSION_COOKIE,
        SESSION_HOURS,
        SIGN_IN_COOKIE,
        SignInThrottle,
        check_csrf,
        cookie,
        issue,
    )
    check_csrf(_secret(), _cookies().get(SIGN_IN_COOKIE), field("csrf"))
    throttle = SignInThrottle(_cases().store)
    client, now = _client(), utcnow()
    throttle.check(client, now)
    auth = services().admin
    who = auth.label_of(field("key")) if auth.configured and field("key") else None
    if who is None:
        throttle.wrong_key(client, now)
        return _sign_in_page("That admin key is not valid.", 401, field("next"))
    value, _ = issue(_secret(), who, now)
    session = cookie(SESSION_COOKIE, value, secure=_secure(), max_age=SESSION_HOURS * 3600)
    return _see(after_sign_in(field("next")), session)


@dashboard.route("/admin/sign-out", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def sign_out() -> Response:
    from chalicelib.cases.session import SESSION_COOKIE, cookie
    _checked_post()
    return _see("/admin", cookie(SESSION_COOKIE, "", secure=_secure(), max_age=0))


def _inbox_query() -> tuple[InboxQuery, str | None]:
    from chalicelib.cases.model import FOLDERS, INBOX, STATUSES, InboxQuery
    from chalicelib.cases.pages import page_position
    from chalicelib.cases.reactions import DEFAULT_REACTIONS
    from chalicelib.core.errors import MalformedRequestError
    query = params()

    def chosen(name: str, allowed: list[str] | tuple[str, ...]) -> str | None:
        value = query.get(name, "").strip()
        if value and value not in allowed:
            raise MalformedRequestError(f"The {name} filter must be one of: {', '.join(allowed)}.")
        return value or None

    def day(name: str) -> datetime | None:
        value = query.get(name, "").strip()
        if not value:
            return None
        try:
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise MalformedRequestError(f"The {name} filter must be a date like 2026-01-31.") from None

    until = day("until")
    after = page_position(query.get("cursor"))
    return InboxQuery(folder=chosen("folder", FOLDERS) or INBOX, form=chosen("form", services().forms.ids()),
                      kind=chosen("kind", list(DEFAULT_REACTIONS)), status=chosen("status", STATUSES),
                      overdue=query.get("overdue") == "1", since=day("since"),
                      until=until + timedelta(days=1) if until else None,
                      address=query.get("address", "").strip()[:254] or None,
                      source=query.get("source", "").strip()[:300] or None), after


@dashboard.route("/admin/inbox", methods=["GET"])
@handles_errors
def inbox() -> Response:
    from chalicelib.cases.pages import render_inbox
    from chalicelib.cases.session import csrf_token
    session = _session()
    if session is None:
        return _to_sign_in()
    query, after = _inbox_query()
    page = _cases().inbox(query, after)
    return _page(render_inbox(page, query, who=session.who, csrf=csrf_token(_secret(), session.nonce),
                              forms=sorted(services().forms.ids()), now=utcnow(), after=after,
                              notice=NOTICES.get(params().get("done", ""))))


def _case_page(form_id: str, submission_id: str, session: Session, notice: str | None = None,
               status: int = 200) -> Response:
    from chalicelib.cases.pages import render_case
    from chalicelib.cases.reactions import reaction_for
    from chalicelib.cases.session import csrf_token
    cases = _cases()
    case = cases.get(form_id, submission_id)
    submission = cases.submission(case)
    answers = submission.answers if submission else {}
    delivery = services().delivery
    deliveries = [{"kind": "reply" if d.kind.startswith("reply-") else d.kind.split("-")[0], "key": d.kind,
                   "to": ", ".join(d.recipients), "status": d.status, "attempts": str(d.attempts),
                   "error": d.last_error or "", "resendable": d.status in ("failed", "skipped")}
                  for d in (delivery.store.for_submission(form_id, submission_id) if delivery else [])]
    definition = services().forms.get(form_id)
    reaction = reaction_for(definition.settings if definition else {}, case.kind)
    return _page(render_case(case, answers=answers, deliveries=deliveries, who=session.who,
                             csrf=csrf_token(_secret(), session.nonce), now=utcnow(),
                             reaction=reaction.reaction if reaction else "—",
                             can_reply=bool(case.respondent) and case.folder == "inbox" and delivery is not None,
                             notice=notice), status)


@dashboard.route("/admin/cases/{form_id}/{submission_id}", methods=["GET"])
@handles_errors
def case_page(form_id: str, submission_id: str) -> Response:
    session = _session()
    if session is None:
        return _to_sign_in()
    return _case_page(form_id, submission_id, session, notice=NOTICES.get(params().get("done", "")))


def _version() -> int | None:
    from chalicelib.core.errors import MalformedRequestError
    raw = field("version")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise MalformedRequestError("The page sent a version that is not a number; reload it and try again.")
    return int(raw)


@dashboard.route("/admin/cases/{form_id}/{submission_id}/status", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def change_status(form_id: str, submission_id: str) -> Response:
    session = _checked_post()
    _cases().change_status(form_id, submission_id, field("status"), session.who, field("note"), _version())
    return _see(f"/admin/cases/{form_id}/{submission_id}?done=status")


@dashboard.route("/admin/cases/{form_id}/{submission_id}/reply", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def reply(form_id: str, submission_id: str) -> Response:
    session = _checked_post()
    _cases().reply(form_id, submission_id, field("text"), session.who, _version())
    return _see(f"/admin/cases/{form_id}/{submission_id}?done=reply")


@dashboard.route("/admin/cases/{form_id}/{submission_id}/decision", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def decide(form_id: str, submission_id: str) -> Response:
    session = _checked_post()
    _cases().decide(form_id, submission_id, field("decision"), field("note"), session.who, _version())
    return _see(f"/admin/cases/{form_id}/{submission_id}?done=decision")


@dashboard.route("/admin/cases/{form_id}/{submission_id}/outcome", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def record_outcome(form_id: str, submission_id: str) -> Response:
    session = _checked_post()
    _cases().record_outcome(form_id, submission_id, field("outcome"), session.who, _version())
    return _see(f"/admin/cases/{form_id}/{submission_id}?done=outcome")


@dashboard.route("/admin/cases/{form_id}/{submission_id}/resend", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def resend(form_id: str, submission_id: str) -> Response:
    session = _checked_post()
    _cases().resend(form_id, submission_id, field("email"), session.who)
    return _see(f"/admin/cases/{form_id}/{submission_id}?done=resent")


@dashboard.route("/admin/cases/{form_id}/{submission_id}/not-spam", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def not_spam(form_id: str, submission_id: str) -> Response:
    from chalicelib.cases.spam import SpamFolder
    from chalicelib.core.submission import Submission
    from chalicelib.jobs import dispatch
    session = _checked_post()
    built = services()

    def cleared(submission: Submission) -> None:
        if built.webhooks is not None:
            from chalicelib.webhooks.events import submission_event
            try:
                built.webhooks.emit(submission_event(submission, "submission.spam_cleared"))
            except Exception:  # the post is in the inbox already: a webhook problem must not turn that into a 5xx
                import logging
                logging.getLogger("formloop.webhooks").exception(
                    "submission.spam_cleared of %s/%s not recorded", submission.form, submission.id)

    SpamFolder(_cases(), built.store, lambda submission: dispatch(built.consumers, submission),
               cleared, built.settings.default_retention_days).not_spam(form_id, submission_id, session.who)
    return _see(f"/admin/cases/{form_id}/{submission_id}?done=not-spam")


@dashboard.route("/admin/cases/{form_id}/{submission_id}/delete", methods=["POST"], content_types=ANY_TYPE)
@handles_errors
@takes(*FORM_TYPES)
def delete_case(form_id: str, submission_id: str) -> Response:
    import logging
    session = _checked_post()
    folder = _cases().get(form_id, submission_id).folder
    services().removal.delete(form_id, submission_id)  # the submission, its results, emails owed, and its case
    logging.getLogger("formloop.cases").info("%s deleted submission %s/%s", session.who, form_id, submission_id)
    return _see(f"/admin/inbox?{'folder=spam&' if folder == 'spam' else ''}done=deleted")
