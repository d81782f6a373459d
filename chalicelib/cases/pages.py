"""The dashboard's pages (sign-in, inbox, case) from autoescaped templates, and their Content-Security-Policy."""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from chalicelib.cases.model import DECISIONS, FOLDERS, STATUSES, Case, InboxPage, InboxQuery, is_order
from chalicelib.cases.reactions import DEFAULT_REACTIONS
from chalicelib.core.cursor import decode_cursor, encode_cursor
from chalicelib.pages.rendering import TEMPLATES, _environment, render

DASHBOARD = TEMPLATES / "dashboard"
_INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)
_END = "\x00"


@lru_cache(maxsize=1)
def dashboard_policy() -> str:
    """No site may frame the dashboard; its forms post to Formloop only; its own inline styles by hash."""
    from chalicelib.pages.csp import NONE, SELF, content_security_policy, source_hash
    found: set[str] = set()
    for template in sorted(DASHBOARD.glob("*.html")):
        for _, text in _INLINE.findall(template.read_text(encoding="utf-8")):
            # Rendered as served (trim_blocks and all); the end marker keeps the block's last newline.
            found.add(source_hash(_environment().from_string(text + _END).render().removesuffix(_END)))
    return content_security_policy(frame_ancestors=[NONE], form_action=[SELF], style_sources=sorted(found))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _due(case: Case, now: datetime) -> str:
    if not case.waiting or case.due_at is None:
        return ""
    hours = round((case.due_at - now).total_seconds() / 3600)
    if hours < 0:
        return f"overdue by {-hours} h" if hours > -48 else f"overdue by {-hours // 24} days"
    return f"due in {hours} h" if hours < 48 else f"due in {hours // 24} days"


def case_row(case: Case, now: datetime) -> dict[str, Any]:
    """What the inbox shows of one case."""
    return {"form": case.form, "id": case.submission_id, "kind": case.kind or "—", "status": case.status,
            "respondent": case.respondent or "—", "received": _when(case.created_at), "due": _due(case, now),
            "overdue": case.overdue(now), "source": case.source or "—",
            "link": f"/admin/cases/{case.form}/{case.submission_id}"}


def page_position(cursor: str | None) -> str | None:
    """Where an inbox page starts, from its link's cursor; MalformedRequestError (400) for one not given out."""
    if not cursor:
        return None
    return decode_cursor(cursor, {"after": is_order},
                         "That page link is not valid; start again from the first page.")["after"]


def shown(value: object) -> str:
    """An answer as the case page shows it: lists joined, yes/no for booleans."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(shown(item) for item in value)
    return str(value)


def render_sign_in(csrf: str, error: str | None = None, next_page: str | None = None) -> str:
    """The sign-in page; `next_page`, already checked, is where a successful sign-in goes."""
    return render("dashboard/sign_in.html", page_title="Sign in · Formloop", csrf=csrf, error=error, who=None,
                  next_page=next_page)


def render_inbox(page: InboxPage, query: InboxQuery, *, who: str, csrf: str, forms: list[str], now: datetime,
                 after: str | None, notice: str | None = None) -> str:
    """The inbox: filters, then the cases of one page, overdue first."""
    filters = {"folder": query.folder if query.folder != "inbox" else "", "form": query.form or "",
               "kind": query.kind or "", "status": query.status or "", "overdue": "1" if query.overdue else "",
               "since": query.since.strftime("%Y-%m-%d") if query.since else "",
               "until": query.until.strftime("%Y-%m-%d") if query.until else "", "address": query.address or "",
               "source": query.source or ""}
    kept = {name: value for name, value in filters.items() if value}
    views = [("Inbox", "/admin/inbox", not kept), ("Overdue", "/admin/inbox?overdue=1", kept == {"overdue": "1"}),
             ("Answered", "/admin/inbox?status=answered", kept == {"status": "answered"}),
             ("Spam", "/admin/inbox?folder=spam", kept == {"folder": "spam"})]
    cursor = encode_cursor({"after": page.next_after}) if page.next_after else None
    next_link = f"/admin/inbox?{urlencode({**kept, 'cursor': cursor})}" if cursor else None
    return render("dashboard/inbox.html", page_title="Inbox · Formloop", who=who, csrf=csrf,
                  rows=[case_row(case, now) for case in page.cases], filters=filters, forms=forms,
                  kinds=list(DEFAULT_REACTIONS), statuses=list(STATUSES), folders=list(FOLDERS),
                  next_link=next_link, views=views, notice=notice,
                  filtered=any(value for name, value in kept.items() if name != "folder"),
                  first_link="/admin/inbox?" + urlencode(kept) if after else None)


def render_case(case: Case, *, answers: dict[str, Any], deliveries: list[dict[str, Any]], who: str,
                csrf: str, now: datetime, reaction: str, can_reply: bool, notice: str | None = None) -> str:
    """One case: its answers, emails, history and replies, and the forms that act on it."""
    history = [{"at": _when(c.at), "who": c.who, "old": c.old or "—", "new": c.new, "note": c.note}
               for c in case.history]
    replies = [{"at": _when(r.at), "who": r.who, "text": r.text} for r in case.replies]
    decision = case.decision
    reacted = {"decision": decision.decision if decision else "", "decision_note": decision.note if decision else "",
               "decided": f"{_when(decision.at)} · {decision.who}" if decision else "",
               "outcome": case.outcome or "", "is_spam": case.folder == "spam"}
    return render("dashboard/case.html", page_title=f"Case {case.submission_id} · Formloop", who=who, csrf=csrf,
                  case=case_row(case, now), version=case.version,
                  answers=[(name, shown(value)) for name, value in answers.items()], deliveries=deliveries,
                  history=history, replies=replies, statuses=list(STATUSES), reaction=reaction,
                  can_reply=can_reply, notice=notice, language=case.language or "—", reacted=reacted,
                  decisions=list(DECISIONS))


def render_results(summary: dict[str, Any], *, who: str, csrf: str, forms: list[str]) -> str:
    """A form's results in the dashboard: every chart, NPS by week, sources, gift stock, and its CSV export."""
    from chalicelib.reporting.charts import results_view
    form = str(summary["form"])
    view = {**results_view(summary), "page_title": f"Results: {summary['title']} · Formloop"}
    return render("dashboard/results.html", **view, who=who, csrf=csrf, forms=forms,
                  csv_link=f"/admin/results/{form}/csv", csv_all_link=f"/admin/results/{form}/csv?status=all",
                  cases_link="/admin/inbox?" + urlencode({"form": form}))
