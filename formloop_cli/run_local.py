"""`formloop run` (make run): DynamoDB Local + tables + the worker + `chalice local`, all stopped by Ctrl-C."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

from chalicelib.core.config import PROJECT_ROOT as ROOT
from chalicelib.forms.definitions import check_folder
from formloop_cli import dynamodb_local


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children on SIGTERM/SIGHUP as on Ctrl-C


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on host:port (a Formloop started earlier, or another program)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def taken_ports(host: str, port: int, ddb_port: int) -> list[str]:
    """What stops a second `formloop run` from starting, in words; empty when both ports are free."""
    return [f"port {number} on {where} is in use ({what})"
            for where, number, what in ((host, port, "the app"), ("127.0.0.1", ddb_port, "DynamoDB Local"))
            if port_taken(where, number)]


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
        print("usage: formloop run  (override with FORMLOOP_PORT, FORMLOOP_DYNAMODB_PORT, FORMLOOP_HOST)",
              file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    host = os.environ.get("FORMLOOP_HOST", "127.0.0.1")
    port = int(os.environ.get("FORMLOOP_PORT", "8000"))
    ddb_port = int(os.environ.get("FORMLOOP_DYNAMODB_PORT", "8001"))
    endpoint = f"http://127.0.0.1:{ddb_port}"
    taken = taken_ports(host, port, ddb_port)
    if taken:
        print(f"error: {'; '.join(taken)}. Formloop probably runs already: open http://{host}:{port}/ , or stop "
              "it (Ctrl-C where `make run` runs), or pick free ports: "
              f"FORMLOOP_PORT={port + 10} FORMLOOP_DYNAMODB_PORT={ddb_port + 10} make run", file=sys.stderr)
        return 1
    report_definitions(Path(os.environ.get("FORMLOOP_FORMS_DIR") or ROOT / "forms"))
    print(f"Formloop: open http://{host}:{port}/f/contact (or /f/customer-survey) and send the form.", flush=True)
    try:
        dynamodb_local.check_java()
    except dynamodb_local.LocalSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    # The server and the worker both read these (`.chalice/config.json` leaves them out so they are not overridden):
    # the database this run started, and the address links in emails point to.
    env = {**os.environ, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "local",
           "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
           "FORMLOOP_ADMIN_BASE_URL": os.environ.get("FORMLOOP_ADMIN_BASE_URL") or f"http://{host}:{port}"}
    env["FORMLOOP_ADMIN_KEY"] = admin_key = os.environ.get("FORMLOOP_ADMIN_KEY") or secrets.token_urlsafe(24)
    print(f"Admin key (FORMLOOP_ADMIN_KEY): {admin_key}\n  e.g. curl -H 'Authorization: Bearer {admin_key}' "
          f"http://{host}:{port}/admin/forms/customer-survey/results?format=html", flush=True)
    os.environ.update(env)
    data_dir = ROOT / ".local" / "dynamodb"
    log = ROOT / ".local" / "dynamodb-local.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    database = dynamodb_local.start(ddb_port, data_dir=data_dir, log=log)
    children.append(database)
    try:
        dynamodb_local.wait_ready(endpoint, database)
        from chalicelib.core.config import Settings
        from chalicelib.wiring import build_services
        built = build_services(Settings.from_environ(os.environ))
        built.create_tables()
        # Campaigns of generated codes (the shipped customer-survey's) get their codes once; restarts add none.
        for campaign_id, added in (built.gifts.ensure_all_generated() if built.gifts else {}).items():
            if added:
                print(f"Gift campaign {campaign_id}: generated {added} codes", flush=True)
        print(f"DynamoDB Local on {endpoint} (data in {data_dir.relative_to(ROOT)}/, log in {log.relative_to(ROOT)})",
              flush=True)
        # The delivery worker reads the submissions table's stream and writes emails to .local/outbox.
        children.append(subprocess.Popen([sys.executable, "-m", "formloop_cli", "worker"], cwd=ROOT, env=env,
                                         start_new_session=True))
        print(f"Emails go to .local/outbox: see them at http://{host}:{port}/outbox", flush=True)
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "local", "--host", host,
             "--port", str(port), "--no-autoreload"], cwd=ROOT, env=env, start_new_session=True)
        children.append(server)
        server.wait()
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    except dynamodb_local.LocalSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        print("Formloop stopped.", flush=True)

