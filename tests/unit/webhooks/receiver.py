"""A real HTTP receiver for webhook tests (http.server in a thread), scripted answer by answer."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status, an optional delay before it, extra headers."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers each POST with the next scripted answer (then 200), and keeps every request."""

    def __init__(self, port: int = 0) -> None:
        self.script: list[Answer] = []
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/formloop"

    def answer(self, *answers: Answer) -> None:
        """Queue answers for the next requests."""
        with self._lock:
            self.script.extend(answers)

    def _next(self, request: Received) -> Answer:
        with self._lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else Answer()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                answer = receiver._next(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender gave up (timeout) and closed the connection

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def webhook_ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(port: int = 0) -> Iterator[Receiver]:
    """A started receiver, stopped afterwards."""
    receiver = Receiver(port)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
