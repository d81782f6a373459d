"""The example site `make run` serves, and the local pages around it: the site's pages point at the app this run
serves, `formloop run` names a taken site port and forms that do not list the site, and the outbox pages read
one email's To and Subject without path tricks."""
from __future__ import annotations

import json
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from chalicelib.core.errors import NotFoundError
from chalicelib.mail.content import render_outbox_email, render_outbox_page
from chalicelib.mail.transport import OutboxEntry, OutboxMailer
from chalicelib.pages.local_home import FormLink, render_local_home
from formloop_cli import run_local
from formloop_cli.example_site import SITE_DIR, WRITTEN_APP_URL, ExampleSiteHandler, site_origins

ROOT = Path(__file__).resolve().parents[2]


def _serve(app_url: str) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(ExampleSiteHandler, directory=str(SITE_DIR),
                                                           app_url=app_url))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def moved_site() -> Iterator[str]:
    yield from _serve("http://127.0.0.1:18000")


@pytest.fixture
def default_site() -> Iterator[str]:
    yield from _serve(WRITTEN_APP_URL)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8")


def test_the_site_has_a_contact_page_a_survey_page_and_its_own_thanks_page() -> None:
    contact = (SITE_DIR / "index.html").read_text(encoding="utf-8")
    assert '<form action="http://127.0.0.1:8000/f/contact" method="post">' in contact
    assert '<input type="hidden" name="_next" value="/thanks.html">' in contact
    assert 'name="_gotcha"' in contact and '<meta name="viewport"' in contact
    survey = (SITE_DIR / "survey.html").read_text(encoding="utf-8")
    assert 'href="http://127.0.0.1:8000/f/customer-survey"' in survey
    assert "Thank you" in (SITE_DIR / "thanks.html").read_text(encoding="utf-8")


def test_the_site_names_the_app_where_this_run_serves_it(moved_site: str) -> None:
    status, page = _get(f"{moved_site}/")
    assert status == 200
    assert 'action="http://127.0.0.1:18000/f/contact"' in page and WRITTEN_APP_URL not in page
    assert 'href="http://127.0.0.1:18000/f/customer-survey"' in _get(f"{moved_site}/survey.html")[1]
    status, css = _get(f"{moved_site}/style.css")
    assert status == 200 and "font" in css


def test_the_site_is_served_as_written_on_the_default_port(default_site: str) -> None:
    assert _get(f"{default_site}/index.html")[1] == (SITE_DIR / "index.html").read_text(encoding="utf-8")
    with pytest.raises(urllib.error.HTTPError) as missing:
        _get(f"{default_site}/no-such-page.html")
    assert missing.value.code == 404


def test_a_taken_site_port_is_named() -> None:
    with socket.socket() as listener, socket.socket() as spare:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        spare.bind(("127.0.0.1", 0))
        taken, free = listener.getsockname()[1], spare.getsockname()[1]
        assert run_local.taken_ports("127.0.0.1", free, free, taken) == [
            f"port {taken} on 127.0.0.1 is in use (the example site)"]
        assert run_local.taken_ports("127.0.0.1", free, free, free) == []


def test_forms_that_do_not_list_the_site_are_named(tmp_path: Path) -> None:
    for name in ("contact", "customer-survey", "product-feedback"):
        shutil.copy(ROOT / "forms" / f"{name}.json", tmp_path / f"{name}.json")
    assert run_local.forms_missing_site(tmp_path, 8002) == []  # the shipped forms list the site's default port
    assert run_local.forms_missing_site(tmp_path, 8102) == ["contact", "customer-survey", "product-feedback"]
    definition = json.loads((tmp_path / "contact.json").read_text())
    del definition["x-form"]["allowedOrigins"]  # no list: every site may post
    (tmp_path / "contact.json").write_text(json.dumps(definition))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "odd.json").write_text('{"x-form": {"allowedOrigins": [1, 2]}}')
    assert run_local.forms_missing_site(tmp_path, 8102) == ["customer-survey", "product-feedback"]
    assert site_origins(8102) == ["http://127.0.0.1:8102", "http://localhost:8102"]


def test_one_run_keeps_its_state_under_its_local_dir(tmp_path: Path) -> None:
    paths = run_local.LocalPaths.from_environ({"FORMLOOP_LOCAL_DIR": str(tmp_path)})
    assert (paths.data, paths.outbox, paths.checkpoint) == (
        tmp_path / "dynamodb", tmp_path / "outbox", tmp_path / "worker-checkpoint.json")
    assert run_local.LocalPaths.from_environ({}).data == ROOT / ".local" / "dynamodb"
    chosen = run_local.LocalPaths.from_environ({"FORMLOOP_LOCAL_DIR": str(tmp_path), "FORMLOOP_OUTBOX_DIR": "/x"})
    assert chosen.outbox == Path("/x")


def _email(to: str, subject: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Formloop <formloop@localhost>", to, subject
    message.set_content("text")
    message.add_alternative(html, subtype="html")
    return message


def test_the_outbox_reads_one_emails_to_and_subject_and_refuses_other_names(tmp_path: Path) -> None:
    outbox = OutboxMailer(tmp_path)
    assert outbox.count() == 0 and outbox.entries() == []
    first = outbox.send(_email("ann@example.com", "Thanks", "<html><body>one</body></html>"), ["ann@example.com"])
    second = outbox.send(_email("team@example.com", "New", "<html><body>two</body></html>"), ["team@example.com"])
    assert outbox.count() == 2
    assert [entry.name for entry in outbox.entries()] == [second, first]
    entry = outbox.entry(first)
    assert (entry.to, entry.subject) == ("ann@example.com", "Thanks")
    (tmp_path.parent / "secret.eml").write_text("To: x\n\n")
    for name in ("../secret", "nothing", "", "a/b"):
        with pytest.raises(NotFoundError):
            outbox.entry(name)
        with pytest.raises(NotFoundError):
            outbox.read(name)


def test_an_outbox_email_shows_who_and_what_above_it_and_links_back() -> None:
    entry = OutboxEntry(name="x", to='"Ann <b>" <ann@example.com>', subject="Hi <script>alert(1)</script>",
                        written_at=datetime(2026, 5, 1, 12, 30, tzinfo=UTC))
    shown = render_outbox_email(entry, '<html><body style="margin:0"><p>The email</p></body></html>')
    assert shown.startswith('<html><body style="margin:0"><div')
    assert '<a href="../outbox"' in shown and "2026-05-01 12:30:00 UTC" in shown
    assert "&lt;script&gt;" in shown and "<script>" not in shown and "&lt;b&gt;" in shown
    assert shown.index("All emails") < shown.index("<p>The email</p>")
    headless = render_outbox_email(entry, "<p>No body tag</p>")
    assert headless.startswith("<div") and headless.endswith("<p>No body tag</p>")


def test_the_outbox_list_links_home_and_each_email() -> None:
    entry = OutboxEntry(name="20260501T123000000000-abcd1234", to="ann@example.com", subject="",
                        written_at=datetime(2026, 5, 1, tzinfo=UTC))
    page = render_outbox_page([entry])
    assert '<a href="./">Formloop</a>' in page and 'href="outbox/20260501T123000000000-abcd1234"' in page
    assert "(no subject)" in page and "<th>To</th>" in page


def test_the_local_home_lists_forms_and_hides_the_outbox_when_there_is_none() -> None:
    page = render_local_home([FormLink("contact", "Contact <us>", "contact")], 3)
    assert 'href="f/contact"' in page and "Contact &lt;us&gt;" in page and "(3 so far)" in page
    assert 'href="admin"' in page
    assert 'href="outbox"' not in render_local_home([], None)
