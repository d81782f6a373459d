"""`make bench-webhooks`: webhook deliveries per second against emails per second, on this machine.

The same submissions (contact form, a question with a respondent) go through
  (a) email delivery: the acknowledgement and the team notification rendered and written to a local outbox;
  (b) webhook delivery: the `submission.received` event signed and POSTed to a local receiver (http.server in a
      thread, keep-alive off, as most receivers are reached), 200 at once;
each on the in-memory stores (Formloop's own cost) and on DynamoDB Local (with the record writes each takes).
Sequential, one worker: a Lambda stream handler works through its batch the same way. The output is the table
in docs/webhooks.md.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _ddb import dynamodb_local_endpoint
from ulid import ULID

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_" + base64.b64encode(b"formloop-bench-webhook-secret-32").decode()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _forms(folder: Path, url: str) -> Path:
    definition = json.loads((ROOT / "forms" / "contact.json").read_text(encoding="utf-8"))
    definition["x-form"]["webhooks"] = [{"name": "crm", "url": url, "events": ["submission.received"]}]
    forms = folder / "forms"
    forms.mkdir()
    (forms / "contact.json").write_text(json.dumps(definition), encoding="utf-8")
    os.symlink(ROOT / "forms" / "templates", forms / "templates")
    return forms


def _submission() -> Submission:
    return Submission(form="contact", id=str(ULID()), created_at=datetime.now(UTC), status="received",
                      answers={"name": "Ann Lee", "email": "ann@example.com", "topic": "question",
                               "message": "Where is my order?", "consent": True},
                      feedback_kind="question", language="en", origin="https://shop.example.com",
                      respondent_email="ann@example.com")


def per_second(consumer: Callable[[Submission], Any], count: int) -> float:
    """Submissions a consumer handles per second, one after another (after a few warm-up ones)."""
    for _ in range(5):
        consumer(_submission())
    batch = [_submission() for _ in range(count)]
    started = time.perf_counter()
    for submission in batch:
        consumer(submission)
    return count / (time.perf_counter() - started)


def measure(settings: Settings, build: Callable[[Settings], Any], count: int) -> tuple[float, float]:
    """(emails per second, webhook deliveries per second): two emails per submission, one webhook."""
    services = build(settings)
    delivery, webhooks = services.delivery, services.webhooks
    emails = per_second(delivery, count) * 2
    hooks = per_second(webhooks, count)
    return emails, hooks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=300, help="submissions per measurement")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    with tempfile.TemporaryDirectory(prefix="formloop-bench-webhooks-") as folder:
        environ = {"FORMLOOP_FORMS_DIR": str(_forms(Path(folder), url)), "FORMLOOP_WEBHOOK_SECRET_CRM": SECRET,
                   "FORMLOOP_OUTBOX_DIR": str(Path(folder) / "outbox"),
                   "FORMLOOP_ACK_PER_ADDRESS_PER_DAY": "100000"}
        rows = []

        def memory(settings: Settings) -> Any:
            from chalicelib.mail.transport import OutboxMailer
            from chalicelib.webhooks.transport import WebhookTransport
            from chalicelib.wiring import build_memory_services
            return build_memory_services(settings, mailer=OutboxMailer(settings.mail.outbox_dir),
                                         webhook_transport=WebhookTransport(require_https=False, allow_private=True))

        rows.append(("in-memory stores", *measure(Settings.from_environ(environ), memory, args.count)))
        with dynamodb_local_endpoint() as endpoint:
            from chalicelib.wiring import build_services

            def dynamodb(settings: Settings) -> Any:
                built = build_services(settings)
                built.create_tables()
                return built

            settings = Settings.from_environ({**environ, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint,
                                              "FORMLOOP_TABLE_PREFIX": f"bench-{ULID()}".lower()})
            rows.append(("DynamoDB Local", *measure(settings, dynamodb, args.count)))
    server.shutdown()
    print(f"{args.count} submissions, one after another (2 emails and 1 webhook each)")
    print(f"{'stores':<18} {'emails/s':>10} {'webhooks/s':>11}")
    for name, emails, hooks in rows:
        print(f"{name:<18} {emails:>10.0f} {hooks:>11.0f}")


if __name__ == "__main__":
    main()
