"""A CAPTCHA provider's siteverify endpoint on a real local HTTP server (http.server in a thread), answering as
Turnstile, hCaptcha and reCAPTCHA document: each token is good once, then `timeout-or-duplicate`."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-0123456789abcdef0123456789"


@dataclass
class Answer:
    """What the server answers for one token: a status, a body (JSON-encoded unless bytes), after a delay."""

    body: Any
    status: int = 200
    delay: float = 0.0


@dataclass
class Provider:
    """The server's state: canned answers by token, tokens spent, the requests it received."""

    url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    spent: set[str] = field(default_factory=set)
    requests: list[dict[str, str]] = field(default_factory=list)
    hostname: str = "localhost"

    def passes(self, token: str, **extra: Any) -> str:
        """Make `token` a good one (hostname localhost unless given), answered once."""
        self.answers[token] = Answer({"success": True, "challenge_ts": "2030-05-01T12:00:00Z",
                                      "hostname": self.hostname, **extra})
        return token

    def answer(self, token: str, body: Any, status: int = 200, delay: float = 0.0) -> str:
        """Answer `token` with exactly this."""
        self.answers[token] = Answer(body, status, delay)
        return token


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Siteverify(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            fields = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.requests.append(fields)
            token = fields.get("response", "")
            answer = self._answer(fields, token)
            time.sleep(answer.delay)
            body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def _answer(self, fields: dict[str, str], token: str) -> Answer:
            if not fields.get("secret"):
                return Answer({"success": False, "error-codes": ["missing-input-secret"]})
            if not token:
                return Answer({"success": False, "error-codes": ["missing-input-response"]})
            if token in provider.spent:
                return Answer({"success": False, "error-codes": ["timeout-or-duplicate"]})
            answer = provider.answers.get(token)
            if answer is None:
                return Answer({"success": False, "error-codes": ["invalid-input-response"]})
            if isinstance(answer.body, dict) and answer.body.get("success"):
                provider.spent.add(token)
            return answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
            pass

    return Siteverify


@contextmanager
def running_provider() -> Iterator[Provider]:
    """A provider on 127.0.0.1 at a free port, for the duration."""
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    server.daemon_threads = True
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/siteverify"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A siteverify URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/siteverify"


def captcha_forms(directory: Path, **captchas: dict[str, Any] | None) -> Path:
    """A forms folder with the repository's contact form once per CAPTCHA (`name=x-form.captcha`, None for none),
    and its email templates, so delivery renders as it does for the real forms."""
    contact = json.loads((ROOT / "forms" / "contact.json").read_text())
    for name, captcha in captchas.items():
        definition = json.loads(json.dumps(contact))
        definition["$id"] = name
        if captcha is not None:  # None: the contact form as it is, without one
            definition["x-form"]["captcha"] = captcha
        definition["x-form"]["spam"] = {"honeypot": "_gotcha"}
        (directory / f"{name}.json").write_text(json.dumps(definition))
    (directory / "templates").symlink_to(ROOT / "forms" / "templates")
    return directory


CONTACT = {"name": "Ann", "email": "ann@example.com", "topic": "question", "message": "Hello", "consent": "on"}
