"""The overdue digest: a scheduled email to each form's team listing its cases past their due time, each case
at most once per UTC day (a marker per case and day, written once its email went)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape

from chalicelib.cases.model import Case, InboxQuery
from chalicelib.cases.store import CaseStore
from chalicelib.forms.definitions import FormRegistry
from chalicelib.mail.content import Email, envelope, message_id_for, notification_recipients, to_message
from chalicelib.mail.transport import Mailer, MailError

log = logging.getLogger("formloop.cases")

PAGE = 100
MAX_PAGES = 20  # 2,000 overdue cases a round; the rest wait for the next round (the oldest come first)


def _marker(case: Case, now: datetime) -> str:
    return f"digest#{case.key}#{now.strftime('%Y-%m-%d')}"


def render_digest(form_title: str, cases: list[Case], now: datetime, base_url: str) -> Email:
    """The team's digest of one form's overdue cases, oldest due first, each with a link to its case page."""
    lines, items = [], []
    for case in cases:
        late = now - case.due_at if case.due_at else timedelta()
        hours = int(late.total_seconds() // 3600)
        link = f"{base_url}/admin/cases/{case.form}/{case.submission_id}"
        what = f"{case.kind or 'feedback'} from {case.respondent or 'no address'}, overdue by {hours} h"
        lines.append(f"- {what}\n  {link}")
        items.append(f'<li><a href="{escape(link)}">{escape(what)}</a></li>')
    subject = f"[overdue] {form_title}: {len(cases)} case{'s' if len(cases) != 1 else ''} past due"
    text = f"These cases of {form_title} passed their due time:\n\n" + "\n".join(lines) + "\n"
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body><p>These cases of '
            f"{escape(form_title)} passed their due time:</p><ul>{''.join(items)}</ul></body></html>")
    return Email(to=[], subject=subject, html=html, text=text, headers={"Auto-Submitted": "auto-generated"})


class OverdueDigest:
    """Finds the overdue cases (one indexed range read), groups them by form, and emails each form's team."""

    def __init__(self, forms: FormRegistry, store: CaseStore, mailer: Mailer, sender: str, base_url: str,
                 clock: Callable[[], datetime]) -> None:
        self.forms = forms
        self.store = store
        self.mailer = mailer
        self.sender = sender
        self.base_url = base_url
        self.clock = clock

    def send(self) -> int:
        """Email each team its overdue cases not yet reported today; how many cases were reported."""
        now = self.clock()
        fresh: dict[str, list[Case]] = {}
        after: str | None = None
        for _ in range(MAX_PAGES):
            page = self.store.page(InboxQuery(overdue=True), now, PAGE, after)
            for case in page.cases:
                if self.store.attempts(_marker(case, now)) == 0:
                    fresh.setdefault(case.form, []).append(case)
            after = page.next_after
            if after is None:
                break
        reported = 0
        for form, cases in sorted(fresh.items()):
            definition = self.forms.get(form)
            recipients = notification_recipients(definition, None) if definition else []
            if definition is None or not recipients:
                continue  # nobody to tell: the inbox still shows them first
            email = render_digest(definition.title(definition.locales[0]), cases, now, self.base_url)
            email.to = recipients
            key = f"digest.{form}.{now.strftime('%Y%m%dT%H%M')}"
            try:
                self.mailer.send(to_message(email, self.sender, message_id_for(self.sender, key)),
                                 envelope(recipients))
            except (MailError, ValueError) as exc:  # this form's team only; the next round tries again
                log.warning("overdue digest for %s not sent: %s", form, exc)
                continue
            end_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            for case in cases:  # marked once sent: a failed send is tried again by the next round
                self.store.count_attempt(_marker(case, now), end_of_day)
            reported += len(cases)
            log.info("overdue digest for %s: %d cases to %d addresses", form, len(cases), len(recipients))
        return reported
