"""`formloop run` (make run): DynamoDB Local + tables + the worker + `chalice local` + the example site, all stopped
by Ctrl-C."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.config import PROJECT_ROOT as ROOT
from chalicelib.forms.definitions import check_folder
from formloop_cli import dynamodb_local
from formloop_cli.example_site import DEFAULT_PORT as DEFAULT_SITE_PORT
from formloop_cli.example_site import site_origins


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children on SIGTERM/SIGHUP as on Ctrl-C


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on host:port (a Formloop started earlier, or another program)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def taken_ports(host: str, port: int, ddb_port: int, site_port: int | None = None) -> list[str]:
    """What stops a second `formloop run` from starting, in words; empty when every port is free."""
    wanted = [(host, port, "the app"), ("127.0.0.1", ddb_port, "DynamoDB Local")]
    if site_port is not None:
        wanted.append((host, site_port, "the example site"))
    return [f"port {number} on {where} is in use ({what})" for where, number, what in wanted
            if port_taken(where, number)]


def forms_missing_site(forms_dir: Path, site_port: int) -> list[str]:
    """The forms that list allowedOrigins but not the example site's: a post from the site gets 403 there."""
    missing = []
    for path in sorted(forms_dir.glob("*.json")):
        try:
            listed = json.loads(path.read_text(encoding="utf-8")).get("x-form", {}).get("allowedOrigins") or []
            origins = {origin.rstrip("/").lower() for origin in listed}
        except (ValueError, AttributeError, TypeError, OSError):
            continue  # a broken definition is reported by report_definitions
        if origins and not origins & set(site_origins(site_port)):
            missing.append(path.stem)
    return missing


@dataclass(frozen=True)
class LocalPaths:
    """Where one `formloop run` keeps its state: under FORMLOOP_LOCAL_DIR (default .local/)."""

    data: Path  # DynamoDB Local's tables
    log: Path  # DynamoDB Local's output
    outbox: Path  # the emails (FORMLOOP_OUTBOX_DIR, if set, wins)
    checkpoint: Path  # how far the worker read the stream of those tables

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> LocalPaths:
        """The paths this environment asks for."""
        base = Path(environ.get("FORMLOOP_LOCAL_DIR") or ROOT / ".local")
        return cls(data=base / "dynamodb", log=base / "dynamodb-local.log",
                   outbox=Path(environ.get("FORMLOOP_OUTBOX_DIR") or base / "outbox"),
                   checkpoint=base / "worker-checkpoint.json")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def report_definitions(forms_dir: Path) -> int:
    """Print each broken definition now, so a mistake shows at start and not on the first post; how many."""
    errors = check_folder(forms_dir)
    for error in errors:
        print(f"error: {error}\n  (this form cannot take posts until it is fixed; the others work)", file=sys.stderr,
              flush=True)
    return len(errors)


def main(argv: list[str]) -> int:
    """Start everything, serve until Ctrl-C or SIGTERM, then stop every child; the exit code."""
    if argv:
        print("usage: formloop run  (override with FORMLOOP_PORT, FORMLOOP_DYNAMODB_PORT, FORMLOOP_SITE_PORT, "
              "FORMLOOP_HOST, FORMLOOP_LOCAL_DIR)", file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    host = os.environ.get("FORMLOOP_HOST", "127.0.0.1")
    port = int(os.environ.get("FORMLOOP_PORT", "8000"))
    ddb_port = int(os.environ.get("FORMLOOP_DYNAMODB_PORT", "8001"))
    site_port = int(os.environ.get("FORMLOOP_SITE_PORT", str(DEFAULT_SITE_PORT)))
    endpoint = f"http://127.0.0.1:{ddb_port}"
    app_url = f"http://{host}:{port}"
    taken = taken_ports(host, port, ddb_port, site_port)
    if taken:
        print(f"error: {'; '.join(taken)}. Formloop probably runs already: open {app_url}/ , or stop "
              "it (Ctrl-C where `make run` runs), or pick free ports: "
              f"FORMLOOP_PORT={port + 10} FORMLOOP_DYNAMODB_PORT={ddb_port + 10} FORMLOOP_SITE_PORT={site_port + 10} "
              "make run", file=sys.stderr)
        return 1
    forms_dir = Path(os.environ.get("FORMLOOP_FORMS_DIR") or ROOT / "forms")
    report_definitions(forms_dir)
    unlisted = forms_missing_site(forms_dir, site_port)
    if unlisted:
        print(f"warning: {', '.join(unlisted)} do not list the example site's origin ({site_origins(site_port)[0]}) "
              "in x-form.allowedOrigins: posts from the site get 403 until they do.", file=sys.stderr, flush=True)
    print(f"Formloop: open {app_url}/ for the forms, the dashboard and the outbox.", flush=True)
    try:
        dynamodb_local.check_java()
    except dynamodb_local.LocalSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    paths = LocalPaths.from_environ(os.environ)
    # The server and the worker both read these (`.chalice/config.json` leaves them out so they are not overridden):
    # the database this run started, and the address links in emails point to.
    env = {**os.environ, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "local",
           "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
           "FORMLOOP_ADMIN_BASE_URL": os.environ.get("FORMLOOP_ADMIN_BASE_URL") or app_url,
           "FORMLOOP_OUTBOX_DIR": str(paths.outbox)}
    env["FORMLOOP_ADMIN_KEY"] = admin_key = os.environ.get("FORMLOOP_ADMIN_KEY") or secrets.token_urlsafe(24)
    print(f"Admin key (FORMLOOP_ADMIN_KEY): {admin_key}\n  e.g. curl -H 'Authorization: Bearer {admin_key}' "
          f"{app_url}/admin/forms/customer-survey/results?format=html", flush=True)
    os.environ.update(env)
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    database = dynamodb_local.start(ddb_port, data_dir=paths.data, log=paths.log)
    children.append(database)
    server_go, worker_go = Go(), Go()
    try:
        # While Java boots (the slowest step): the example site (a static site of its own, posting to the contact
        # form as any site owner's page would), and the server and the worker loading their code; each waits for
        # its go (formloop_cli/warm_start.py): the server takes its port only once the tables exist, so no request
        # meets a missing table, and the worker starts once the gift codes are in.
        children.append(subprocess.Popen(
            [sys.executable, "-m", "formloop_cli.example_site", "--host", host, "--port", str(site_port),
             "--app", app_url], cwd=ROOT, env=env, start_new_session=True))
        server = server_go.start(["server", "--stage", "local", "--host", host, "--port", str(port)], env)
        children.append(server)
        # The delivery worker reads the submissions table's stream (from its checkpoint, so posts made before its
        # go are read too) and writes emails to the outbox.
        children.append(worker_go.start(["worker", "--checkpoint", str(paths.checkpoint)], env))
        from chalicelib.core.config import Settings
        from chalicelib.wiring import build_services
        built = build_services(Settings.from_environ(os.environ))
        dynamodb_local.wait_ready(endpoint, database)
        built.create_tables()  # one after another: side by side, each thread's own client cost more than it saved
        server_go.give()
        print(f"DynamoDB Local on {endpoint} (data in {_shown(paths.data)}/, log in {_shown(paths.log)})", flush=True)
        print(f"Emails go to {_shown(paths.outbox)}/: see them at {app_url}/outbox", flush=True)
        print(f"Example site (examples/site/): open http://{host}:{site_port}/ and send its contact form.", flush=True)
        # Campaigns of generated codes (the shipped customer-survey's) get their codes once; restarts add none. The
        # server need not wait for them (it takes no code), the worker must: its gift promise needs codes in stock.
        for campaign_id, added in (built.gifts.ensure_all_generated() if built.gifts else {}).items():
            if added:
                print(f"Gift campaign {campaign_id}: generated {added} codes", flush=True)
        worker_go.give()
        server.wait()
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    except dynamodb_local.LocalSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server_go.close()  # a child still waiting for its go stops on its own
        worker_go.close()
        stop_children(children, database)
        print("Formloop stopped.", flush=True)


class Go:
    """A pipe to one child of `formloop run` started warm: it loads its code at once and runs at the go."""

    def __init__(self) -> None:
        self.read, self.write = os.pipe()

    def start(self, command: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Start `python -m formloop_cli.warm_start` with `command`, waiting for this go."""
        return subprocess.Popen([sys.executable, "-m", "formloop_cli.warm_start", "--go-fd", str(self.read),
                                 *command], cwd=ROOT, env=env, start_new_session=True, pass_fds=(self.read,))

    def give(self) -> None:
        """Let the child run (a child that stopped already has its own message and exit code)."""
        os.write(self.write, b"1")  # never a broken pipe: this process keeps the read end open until close()

    def close(self) -> None:
        """Without a go given, the child stops on its own (its end is the only one left open)."""
        os.close(self.read)
        os.close(self.write)


def stop_children(children: list[subprocess.Popen[bytes]], database: subprocess.Popen[bytes]) -> None:
    """Stop every child, the database last: the worker and the server still read it while they stop."""
    for group in ([child for child in children if child is not database], [database]):
        for child in reversed(group):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in group:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)

