"""`formloop run` for real, as `make run` starts it, on free ports and a data folder of its own: the example site
posts to the contact form and lands on its own thank-you page, the emails reach the outbox with links to the port
this run serves, and a SIGTERM stops every process it started."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from formloop_cli.example_site import site_origins

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 303 itself is what the test reads


def _fetch(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str],
                                                                                              str]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


def _eventually[T](probe: Callable[[], T | None], what: str, running: dict[str, Any], timeout: float) -> T:
    process, log = running["process"], running["log"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, \
            f"formloop run exited ({process.returncode}) while waiting for {what}:\n{log.read_text()[-3000:]}"
        try:
            found = probe()
        except OSError:
            found = None
        if found is not None:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`python -m formloop_cli run` on three free ports, with its data, outbox and forms in tmp_path."""
    app_port, ddb_port, site_port = _free_ports(3)
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    for path in forms.glob("*.json"):  # the shipped forms list the site on 8002; this run serves it elsewhere
        definition = json.loads(path.read_text(encoding="utf-8"))
        definition["x-form"]["allowedOrigins"] = site_origins(site_port)
        path.write_text(json.dumps(definition), encoding="utf-8")
    environ = {name: value for name, value in os.environ.items()
               if name not in ("FORMLOOP_OUTBOX_DIR", "FORMLOOP_ADMIN_BASE_URL", "FORMLOOP_DYNAMODB_ENDPOINT")}
    environ.update(FORMLOOP_PORT=str(app_port), FORMLOOP_DYNAMODB_PORT=str(ddb_port), FORMLOOP_SITE_PORT=str(site_port),
                   FORMLOOP_HOST="127.0.0.1", FORMLOOP_LOCAL_DIR=str(tmp_path / "local"),
                   FORMLOOP_FORMS_DIR=str(forms), FORMLOOP_ADMIN_KEY="run-test-key", PYTHONUNBUFFERED="1")
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "formloop_cli", "run"], cwd=ROOT, env=environ, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    state: dict[str, Any] = {"process": process, "app": f"http://127.0.0.1:{app_port}",
                             "site": f"http://127.0.0.1:{site_port}", "outbox": tmp_path / "local" / "outbox",
                             "log": tmp_path / "run.log", "ports": (app_port, ddb_port, site_port)}
    try:
        yield state
    finally:
        if process.poll() is None:  # the test failed before its own stop: `formloop run` still stops its children
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def _emails(outbox: Path) -> list[EmailMessage]:
    return [message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for path in sorted(outbox.glob("*.eml"))]


# Most of the time is DynamoDB Local's start (a JVM: 5-10 s on a quiet laptop, far more on a busy machine).
def test_formloop_run_serves_the_site_sends_the_emails_to_its_own_port_and_stops_cleanly(running) -> None:  # type: ignore[no-untyped-def]
    process, app, site = running["process"], running["app"], running["site"]
    home = _eventually(lambda: _fetch(f"{app}/") if _fetch(f"{app}/")[0] == 200 else None, "the app", running, 150)
    assert 'href="f/contact"' in home[2] and 'href="outbox"' in home[2]

    status, _, page = _fetch(f"{site}/")
    assert status == 200
    # The page names Formloop at 127.0.0.1:8000; served by this run, it names the port this run serves.
    [action] = re.findall(r'<form action="([^"]+)" method="post">', page)
    assert action == f"{app}/f/contact"
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    fields = {"name": "Ann Lee", "email": "ann@example.com", "topic": "question", "message": "Open on Sundays?\n"
              "We would come by after church.", "consent": "on", "_gotcha": "", **hidden}
    status, headers, _ = _fetch(action, urlencode(fields).encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "Origin": site, "Referer": f"{site}/"})
    assert status == 303, (status, running["log"].read_text())
    assert headers["Location"] == f"{site}/thanks.html"
    status, _, thanks = _fetch(headers["Location"])
    assert status == 200 and "Thank you" in thanks

    def both_emails() -> list[EmailMessage] | None:
        found = _emails(running["outbox"])
        return found if len(found) >= 2 else None
    emails = _eventually(both_emails, "the acknowledgement and the team notification", running, 30)
    by_recipient = {str(email["To"]): email for email in emails}
    assert "ann@example.com" in by_recipient and "team@example.com" in by_recipient
    team_html = by_recipient["team@example.com"].get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = re.findall(r'href="(http[^"]+)"', team_html)
    assert links and all(link.startswith(f"{app}/") for link in links), links
    listing = _fetch(f"{app}/outbox")[2]
    assert "ann@example.com" in listing and "team@example.com" in listing

    process.send_signal(signal.SIGTERM)  # what Ctrl-C's KeyboardInterrupt does too: stop every child
    assert process.wait(timeout=30) == 0
    assert "Formloop stopped." in running["log"].read_text()
    for port in running["ports"]:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
