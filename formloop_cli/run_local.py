"""`formloop run` (make run): DynamoDB Local + tables + the worker + `chalice local`, all stopped by Ctrl-C."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from chalicelib.core.config import PROJECT_ROOT as ROOT
from formloop_cli import dynamodb_local


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` stops the children on SIGTERM/SIGHUP as on Ctrl-C


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
    print(f"Formloop: open http://{host}:{port}/f/contact (or /f/customer-survey) and send the form.", flush=True)
    try:
        dynamodb_local.check_java()
    except dynamodb_local.LocalSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    env = {**os.environ, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "local",
           "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}
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

