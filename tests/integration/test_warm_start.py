"""The server of `formloop run` started warm (formloop_cli/warm_start.py): it loads the app at once but takes its port
only at the go, so nothing answers before the tables exist; a run that stops before the go stops it too."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _start_server(port: int) -> tuple[subprocess.Popen[bytes], int]:
    read, write = os.pipe()
    child = subprocess.Popen([sys.executable, "-m", "formloop_cli.warm_start", "--go-fd", str(read), "server",
                              "--port", str(port)], cwd=ROOT, pass_fds=(read,), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(read)
    return child, write


def test_the_server_takes_its_port_only_at_the_go() -> None:
    port = _free_port()
    child, go = _start_server(port)
    try:
        deadline = time.monotonic() + 4  # long enough to have loaded the app on a quiet machine
        while time.monotonic() < deadline:
            assert child.poll() is None and not _answers(port)
            time.sleep(0.2)
        os.write(go, b"1")
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert child.poll() is None and time.monotonic() < deadline, "no answer after the go"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
            assert page.status == 200 and b"f/contact" in page.read()
    finally:
        os.close(go)
        child.terminate()
        child.wait(timeout=10)


def test_a_run_that_stops_before_the_go_stops_the_waiting_server() -> None:
    port = _free_port()
    child, go = _start_server(port)
    os.close(go)  # what `formloop run` does when it stops (or dies) before the tables exist
    assert child.wait(timeout=60) == 1
    assert not _answers(port)
