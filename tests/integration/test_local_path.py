"""The local path as the README tells it, through the app: the example site's posts land on its own thank-you page,
`/` lists what runs, the outbox shows To and Subject and each email links back, and only locally."""
from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from chalicelib.mail.transport import OutboxMailer

from .test_delivery import make_delivery
from .test_submit import CONTACT, post_form

ROOT = Path(__file__).resolve().parents[2]
SITE = "http://127.0.0.1:8002"


def _site_form_fields() -> dict[str, str]:
    """The hidden fields the example contact page posts, read from the page itself."""
    page = (ROOT / "examples" / "site" / "index.html").read_text(encoding="utf-8")
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


@pytest.fixture
def with_outbox(services: Any, tmp_path: Path) -> Iterator[OutboxMailer]:
    """The app writing its emails to an outbox folder of this test's own."""
    import app as app_module
    outbox = OutboxMailer(tmp_path / "outbox")
    app_module.use_services(dataclasses.replace(services, delivery=make_delivery(services, outbox)))
    yield outbox
    app_module.use_services(services)


def _write(outbox: OutboxMailer, to: str, subject: str) -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Formloop <formloop@localhost>", to, subject
    message.set_content("Thank you.")
    message.add_alternative('<html><body style="margin:0"><p>Thank you.</p></body></html>', subtype="html")
    return outbox.send(message, [to])


def test_the_example_site_posts_to_the_contact_form_and_lands_on_its_own_thanks_page(client, services) -> None:  # type: ignore[no-untyped-def]
    page = (ROOT / "examples" / "site" / "index.html").read_text(encoding="utf-8")
    assert 'action="http://127.0.0.1:8000/f/contact" method="post"' in page
    fields = _site_form_fields()
    assert fields == {"_next": "/thanks.html"}
    assert (ROOT / "examples" / "site" / "thanks.html").is_file()
    for origin in (SITE, "http://localhost:8002"):
        response = post_form(client, "contact", {**CONTACT, **fields}, Origin=origin, Referer=f"{origin}/")
        assert response.status_code == 303
        assert response.headers["Location"] == f"{origin}/thanks.html"
    assert services.store.count("contact") == 2


@pytest.mark.parametrize("form_id", ["contact", "customer-survey", "product-feedback"])
def test_every_shipped_form_lists_the_example_site_and_refuses_other_sites(client, services, form_id) -> None:  # type: ignore[no-untyped-def]
    definition = services.forms.require(form_id)
    assert {SITE, "http://localhost:8002"} <= set(definition.allowed_origins)
    refused = post_form(client, form_id, {"email": "ann@example.com"}, Origin="https://elsewhere.example")
    assert refused.status_code == 403
    assert services.store.count(form_id) == 0


def test_the_form_shown_again_keeps_next_as_the_sites_own_address(client, services) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, "contact", {**CONTACT, "email": "not an address", "_next": "/thanks.html"},
                         Origin=SITE, Accept="text/html")
    assert response.status_code == 422
    page = response.body.decode()
    # Posted again from Formloop's own page, "/thanks.html" would mean Formloop's; the kept one is the site's.
    assert f'<input type="hidden" name="_next" value="{SITE}/thanks.html">' in page
    fixed = post_form(client, "contact", {**CONTACT, "_next": f"{SITE}/thanks.html"})
    assert fixed.status_code == 303 and fixed.headers["Location"] == f"{SITE}/thanks.html"


def test_the_form_shown_again_keeps_a_next_it_cannot_resolve_as_posted(client, services) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, "contact", {**CONTACT, "email": "nope", "_next": "https://evil.example/x"},
                         Accept="text/html")
    assert response.status_code == 422
    assert '<input type="hidden" name="_next" value="https://evil.example/x">' in response.body.decode()
    assert 'name="_next"' not in post_form(client, "contact", {**CONTACT, "email": "nope"}).body.decode()


def test_home_lists_the_forms_the_dashboard_and_the_outbox(client, services, with_outbox) -> None:  # type: ignore[no-untyped-def]
    response = client.http.get("/")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    for form_id in ("contact", "customer-survey", "product-feedback"):
        assert f'href="f/{form_id}"' in page
    assert "Contact us" in page and "How did we do?" in page
    assert 'href="admin"' in page and 'href="outbox"' in page and "(0 so far)" in page
    assert "examples/site/" in page
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_home_and_outbox_answer_404_outside_the_local_stage(client, services, with_outbox) -> None:  # type: ignore[no-untyped-def]
    import app as app_module
    app_module.use_services(dataclasses.replace(
        services, delivery=make_delivery(services, with_outbox),
        settings=dataclasses.replace(services.settings, stage="prod")))
    for path in ("/", "/outbox", "/outbox/20260101T000000000000-abcdef12"):
        response = client.http.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404, path


def test_outbox_lists_to_and_subject_newest_first_and_each_email_links_back(client, services, with_outbox) -> None:  # type: ignore[no-untyped-def]
    _write(with_outbox, "ann@example.com", "We received your message: Contact us")
    _write(with_outbox, "team@example.com", "[praise] New message <from Ann>")
    listing = client.http.get("/outbox")
    assert listing.status_code == 200
    page = html.unescape(listing.body.decode())
    assert "<th>To</th>" in page and "<th>Subject</th>" in page and "Written (UTC)" in page
    assert f"also in {with_outbox.folder}/" in page  # where this run writes them, not always .local/outbox
    assert "ann@example.com" in page and "team@example.com" in page
    names = re.findall(r'href="outbox/([0-9A-Za-z-]+)"', page)
    assert names == sorted(names, reverse=True) and len(names) == 2  # newest first
    assert page.index("team@example.com") < page.index("ann@example.com")
    assert "[praise] New message <from Ann>" in page and "<from Ann>" not in listing.body.decode()  # escaped
    assert client.http.get("/").body.decode().count("(2 so far)") == 1

    email = client.http.get(f"/outbox/{names[0]}")
    assert email.status_code == 200
    shown = html.unescape(email.body.decode())
    entry = with_outbox.entry(names[0])
    assert '<a href="../outbox"' in shown and "All emails" in shown
    assert f">{entry.to}</dd>" in shown and f">{entry.subject}</dd>" in shown
    # The header sits inside the email's body, above the email as it was written.
    assert shown.index("<body") < shown.index("All emails") < shown.index("</dl>") < shown.index("</body>")
    written = with_outbox.read(names[0])
    assert written[written.index(">", written.index("<body")) + 1:] in email.body.decode()  # the email, unchanged
    assert "sandbox" in email.headers["Content-Security-Policy"]


def test_an_outbox_name_that_is_not_one_is_404(client, services, with_outbox) -> None:  # type: ignore[no-untyped-def]
    for name in ("..%2Fsecrets", "nothing-here", "a.b"):
        assert client.http.get(f"/outbox/{name}").status_code == 404, name


def test_a_hostile_next_kept_on_the_form_shown_again_stays_text_and_never_redirects_off_site(client, services) -> None:  # type: ignore[no-untyped-def]
    hostile = '"><script>alert(1)</script>'
    response = post_form(client, "contact", {**CONTACT, "email": "nope", "_next": hostile}, Accept="text/html")
    assert response.status_code == 422
    page = response.body.decode()
    assert "<script>alert(1)</script>" not in page and "&#34;&gt;&lt;script&gt;" in page
    again = post_form(client, "contact", {**CONTACT, "_next": hostile})
    assert again.status_code == 303 and again.headers["Location"] == "contact/thanks"
