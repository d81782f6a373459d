"""Source capture: the referring page and utm_* kept with a post (the hosted page's hidden fields, else a plain
site's Referer), what is unsafe dropped, the case's source filter, and results by source."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.cases.model import InboxQuery
from chalicelib.intake.service import SubmitRequest
from chalicelib.intake.source import page_fields, referring_page, source_of
from chalicelib.jobs import dispatch
from chalicelib.pages.rendering import render_form
from chalicelib.wiring import MemoryStores, build_memory_services
from tests.unit.services.support import Clock, memory_settings
from tests.unit.services.test_delivery_service import FakeMailer

CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "Dark mode", "consent": "on"}
FORM = "application/x-www-form-urlencoded"


def test_a_plain_site_s_referer_is_kept_without_its_query() -> None:
    assert source_of({}, {"referer": "https://Shop.Example/pricing?token=secret#top"}) == {
        "page": "https://shop.example/pricing"}
    assert source_of({}, {}) is None


@pytest.mark.parametrize("hostile", ["javascript:alert(1)", "data:text/html,x", "https://a b.example/",
                                     "https://user:pw@[::1/", "ftp://files.example/", "x" * 3000,
                                     "https://shop.example:99999/"])
def test_a_page_that_is_not_a_plain_web_address_is_dropped(hostile: str) -> None:
    assert referring_page(hostile) is None


@pytest.mark.parametrize("hostile", ["news\r\nBcc: x@evil.example", "<script>", "x" * 101, "a\x00b", ""])
def test_a_utm_value_with_anything_but_plain_characters_is_dropped(hostile: str) -> None:
    assert source_of({"_utm_source": hostile}, {}) is None


def test_the_hosted_page_passes_its_own_referrer_and_utm_and_an_empty_source_wins_over_the_referer() -> None:
    fields = page_fields("https://blog.example/post?id=7", {"utm_source": "newsletter", "utm_campaign": "may 2026",
                                                            "utm_medium": "<b>", "other": "x"})
    assert fields == {"_source": "https://blog.example/post", "_utm_source": "newsletter",
                      "_utm_campaign": "may 2026"}
    # Posted from Formloop's own page: its Referer is that page, not where the visitor came from.
    assert source_of({"_source": ""}, {"referer": "https://forms.example/f/contact"}) is None
    assert source_of(fields, {"referer": "https://forms.example/f/contact"}) == {
        "page": "https://blog.example/post", "utm_source": "newsletter", "utm_campaign": "may 2026"}


def test_the_form_page_carries_the_source_fields_escaped() -> None:
    from chalicelib.forms.definitions import FormRegistry
    from tests.unit.services.support import ROOT
    definition = FormRegistry(ROOT / "forms").get("contact")
    assert definition is not None
    page = render_form(definition, "en", action="contact",
                       values={"_source": "https://blog.example/a\"b", "_utm_source": "news"})
    assert '<input type="hidden" name="_source" value="https://blog.example/a&#34;b">' in page
    assert '<input type="hidden" name="_utm_source" value="news">' in page


def test_a_post_s_source_is_stored_filterable_in_the_inbox_and_counted_in_the_results() -> None:
    stores = MemoryStores()
    services = build_memory_services(memory_settings(), stores, clock=Clock(), mailer=FakeMailer())

    def post(extra: dict[str, str], headers: dict[str, str]) -> str:
        outcome = services.submissions.submit(SubmitRequest(
            "contact", urlencode({**CONTACT, **extra}).encode(), {"content-type": FORM, **headers}))
        stored = stores.submissions.get("contact", outcome.submission_id)
        assert stored is not None and dispatch(services.consumers, stored) == []
        return outcome.submission_id

    hosted = post({"_source": "https://blog.example/post", "_utm_source": "Newsletter"},
                  {"referer": "https://forms.example/f/contact"})
    plain = post({}, {"referer": "https://shop.example/contact?x=1"})
    stored = stores.submissions.get("contact", hosted)
    assert stored is not None and stored.source == {"page": "https://blog.example/post", "utm_source": "Newsletter"}
    assert "_source" not in stored.answers and "_utm_source" not in stored.answers
    assert services.cases is not None
    assert [c.submission_id for c in services.cases.inbox(InboxQuery(source="newsletter")).cases] == [hosted]
    assert [c.submission_id for c in services.cases.inbox(InboxQuery(source="shop.example")).cases] == [plain]
    assert services.results.summary("contact")["bySource"] == {"newsletter": 1, "shop.example": 1}
