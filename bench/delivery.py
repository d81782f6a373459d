"""`make bench-delivery`: how long after the 201 the acknowledgement email and the first webhook arrive, locally.

What `make run` starts, each piece its own process as there: an in-memory DynamoDB Local on a free port (as the
test session starts it), the tables, the delivery worker (`formloop worker`) and `chalice local`; beside them a
real HTTP receiver (http.server in a thread) for a webhook that a copy of the contact form, in a temporary forms
folder, sends `submission.received` to. Then N posts of that form, one at a time, each waiting for its own
acknowledgement in the outbox and its own webhook request at the receiver, and each after a random pause under a
second (seeded), so posts land anywhere in the worker's polling cycle as visitors' do, not in step with it:
  post -> acknowledgement: from the 201 to the acknowledgement's .eml in the outbox (its mtime; written last)
  post -> webhook:         from the 201 to the webhook request reaching the receiver
A few more posts follow an idle pause, as a visitor arriving on a quiet site would post. The floor, measured in
the same run on the same DynamoDB Local: one `put_item` to a table with a stream (its own, so the worker never
sees it) plus the `get_records` poll that returns the new item. Last, the worker's CPU seconds over 10 idle
seconds (/proc).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _ddb import LOCAL_AWS_ENV, dynamodb_local_endpoint
from ulid import ULID

from chalicelib.core.config import Settings
from formloop_cli import dynamodb_local
from formloop_cli.dynamodb_local import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_Zm9ybWxvb3AtYmVuY2gtd2ViaG9vay1zZWNyZXQtMzI="
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Receiver:
    """The webhook target: remembers when each request arrived, by the submission id in its body."""

    def __init__(self) -> None:
        self.arrivals: dict[str, int] = {}
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                now = time.time_ns()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                with receiver.arrived:
                    receiver.arrivals.setdefault(body["data"]["submissionId"], now)
                    receiver.arrived.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, submission_id: str, timeout: float) -> int:
        """When the webhook of this submission arrived (epoch ns)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: submission_id in self.arrivals, timeout):
                raise SystemExit(f"no webhook for {submission_id} within {timeout} s")
            return self.arrivals[submission_id]


def write_forms(folder: Path, hook_url: str) -> Path:
    """The contact form with a webhook and no rate limit, beside the shipped templates; forms/ stays as it is."""
    definition = json.loads((ROOT / "forms" / "contact.json").read_text(encoding="utf-8"))
    definition["x-form"]["webhooks"] = [{"name": "crm", "url": hook_url, "events": ["submission.received"]}]
    definition["x-form"]["spam"] = {"honeypot": "_gotcha"}
    forms = folder / "forms"
    forms.mkdir()
    (forms / "contact.json").write_text(json.dumps(definition), encoding="utf-8")
    os.symlink(ROOT / "forms" / "templates", forms / "templates")
    return forms


def acknowledgement_time(outbox: Path, address: str, timeout: float) -> int:
    """The mtime (epoch ns) of the outbox email to `address`; the .eml is written after its .html."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    parser = BytesHeaderParser()
    while time.monotonic() < deadline:
        for entry in os.scandir(outbox) if outbox.is_dir() else []:
            if entry.name.endswith(".eml") and entry.name not in seen:
                with open(entry.path, "rb") as file:
                    to = parser.parse(file)["To"]
                if to is None:
                    continue  # caught between the file's creation and its one write: read it again next time
                seen.add(entry.name)
                if to == address:
                    return entry.stat().st_mtime_ns
        time.sleep(0.005)  # the mtime is the measurement: scanning more often would only take CPU from the worker
    raise SystemExit(f"no acknowledgement to {address} within {timeout} s")


def post(app_url: str, number: int) -> tuple[str, str, int]:
    """One JSON post of the contact form: (submission id, respondent address, when the 201 came, epoch ns)."""
    address = f"bench-{number}-{ULID()}@example.com".lower()
    body = json.dumps({"name": "Ann Lee", "email": address, "topic": "question", "message": "Where is my order?",
                       "consent": True}).encode()
    request = urllib.request.Request(f"{app_url}/f/contact", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answered = time.time_ns()
        if response.status != 201:
            raise SystemExit(f"post answered {response.status}")
        return json.loads(response.read())["id"], address, answered


def measure_posts(app_url: str, outbox: Path, receiver: Receiver, count: int, pause: float,
                  jitter: random.Random) -> list[tuple[float, float]]:
    """(ms to the acknowledgement, ms to the webhook) of each post, after `pause` plus under a second of quiet."""
    rows = []
    for number in range(count):
        time.sleep(pause + jitter.random())
        submission_id, address, answered = post(app_url, number)
        acknowledged = acknowledgement_time(outbox, address, timeout=30)
        hooked = receiver.wait_for(submission_id, timeout=30)
        rows.append(((acknowledged - answered) / 1e6, (hooked - answered) / 1e6))
    return rows


def floor_ms(endpoint: str, count: int) -> list[float]:
    """One put_item plus the get_records poll that returns it (ms each), on a table of its own with a stream as
    the submissions table's, so the worker never sees these items."""
    import botocore.session
    session = botocore.session.get_session()
    dynamodb, streams = (session.create_client(name, region_name="us-east-1", endpoint_url=endpoint)
                         for name in ("dynamodb", "dynamodbstreams"))
    table = f"bench-floor-{ULID()}".lower()
    description = dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]
    arn = description["LatestStreamArn"]
    dynamodb.put_item(TableName=table, Item={"id": {"S": "first"}})  # the shard exists once something is written
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][-1]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    last = streams.get_records(ShardIterator=iterator["ShardIterator"])["NextShardIterator"]
    rounds = []
    for _ in range(count):
        started = time.perf_counter()
        dynamodb.put_item(TableName=table, Item={"id": {"S": str(ULID())}, "form": {"S": "floor"}})
        response = streams.get_records(ShardIterator=last)
        rounds.append((time.perf_counter() - started) * 1000)
        if not response.get("Records"):
            raise SystemExit("the floor's get_records did not return the item just put")
        last = response["NextShardIterator"]
    dynamodb.delete_table(TableName=table)
    return rounds


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Return once `chalice local` answers, or stop the bench with why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"chalice local stopped (exit {process.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/f/contact/schema", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"chalice local did not answer on {url} within {timeout} s")


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own group (as `formloop run` starts them), stopped with SIGTERM on exit."""
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            yield process
        finally:
            dynamodb_local.stop(process)  # its whole process group: TERM, then KILL after 10 s


def percentile(values: list[float], share: float) -> float:
    """The value `share` of the sorted values lie at or below (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def summary(name: str, values: list[float], floor: float) -> str:
    """One row of the table: p50, p90, max, and p50 and p90 over the floor's p50."""
    p50, p90 = statistics.median(values), percentile(values, 0.9)
    return f"{name:<34} {p50:>8.0f} {p90:>8.0f} {max(values):>8.0f} {p50 / floor:>10.0f}x {p90 / floor:>8.0f}x"


def main() -> None:
    """Start the pieces, post, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=30, help="posts one after another (default 30)")
    parser.add_argument("--idle-posts", type=int, default=5, help="posts after an idle pause each (default 5)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="the pause before each idle post")
    parser.add_argument("--seed", type=int, default=1, help="of the random pauses before the posts")
    parser.add_argument("--cpu-seconds", type=float, default=10.0, help="how long the idle worker's CPU is measured")
    parser.add_argument("--worker-arg", action="append", default=[],
                        help="passed on to the worker (e.g. --worker-arg=--poll-seconds=1)")
    parser.add_argument("--worker-command", default=f"{shlex.quote(sys.executable)} -m formloop_cli worker",
                        help="the worker to measure, e.g. an earlier version's (given --checkpoint and --worker-arg)")
    args = parser.parse_args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="formloop-bench-delivery-") as name, dynamodb_local_endpoint() as endpoint:
        folder = Path(name)
        app_port = free_port()
        app_url = f"http://127.0.0.1:{app_port}"
        outbox = folder / "outbox"
        env = {**os.environ, **LOCAL_AWS_ENV, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint,
               "FORMLOOP_FORMS_DIR": str(write_forms(folder, receiver.url)), "FORMLOOP_OUTBOX_DIR": str(outbox),
               "FORMLOOP_WEBHOOK_SECRET_CRM": SECRET, "FORMLOOP_ACK_PER_ADDRESS_PER_DAY": "100000",
               "FORMLOOP_ADMIN_BASE_URL": app_url,
               # What `.chalice/config.json` gives `chalice local`, so the worker's settings are the server's.
               "FORMLOOP_STAGE": "local", "FORMLOOP_MAIL_BACKEND": "outbox", "FORMLOOP_TABLE_PREFIX": "formloop",
               "FORMLOOP_MAIL_FROM": "Formloop <formloop@localhost>"}
        from chalicelib.wiring import build_services
        settings = Settings.from_environ(env)
        build_services(settings).create_tables()
        worker_command = [*shlex.split(args.worker_command), "--checkpoint", str(folder / "checkpoint.json"),
                          *args.worker_arg]
        chalice = [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "local", "--host", "127.0.0.1",
                   "--port", str(app_port), "--no-autoreload"]
        with (started(worker_command, env, folder / "worker.log") as worker,
              started(chalice, env, folder / "chalice.log") as server):
            try:
                wait_until_serving(app_url, server)
                jitter = random.Random(args.seed)
                measure_posts(app_url, outbox, receiver, 3, 0, jitter)  # warm-up: first imports, connections
                busy = measure_posts(app_url, outbox, receiver, args.posts, 0, jitter)
                idle = measure_posts(app_url, outbox, receiver, args.idle_posts, args.idle_seconds, jitter)
            except SystemExit:
                for log in ("worker.log", "chalice.log"):
                    tail = (folder / log).read_text(errors="replace")[-3000:]
                    print(f"--- the end of {log}:\n{tail}", file=sys.stderr)
                raise
            floor = floor_ms(endpoint, 30)
            time.sleep(2)  # let the worker settle into its idle pace before measuring it
            before = cpu_seconds(worker.pid)
            time.sleep(args.cpu_seconds)
            idle_cpu = cpu_seconds(worker.pid) - before
            if worker.poll() is not None:
                raise SystemExit(f"the worker stopped; see {folder / 'worker.log'}")
    receiver.server.shutdown()
    floor_p50 = statistics.median(floor)
    print(f"{args.posts} posts one after another (0-1 s apart), then {args.idle_posts} after {args.idle_seconds:g}-"
          f"{args.idle_seconds + 1:g} s of quiet each; "
          f"worker {' '.join([args.worker_command, *args.worker_arg])}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'ms':<34} {'p50':>8} {'p90':>8} {'max':>8} {'p50/floor':>11} {'p90/floor':>9}")
    print(summary("post -> acknowledgement", [ack for ack, _ in busy], floor_p50))
    print(summary("post -> webhook", [hook for _, hook in busy], floor_p50))
    print(summary("after quiet: post -> acknowledgement", [ack for ack, _ in idle], floor_p50))
    print(summary("after quiet: post -> webhook", [hook for _, hook in idle], floor_p50))
    print(f"floor: put_item + get_records   {floor_p50:>8.1f} {percentile(floor, 0.9):>8.1f}  (30 rounds)")
    print(f"idle worker CPU: {idle_cpu:.2f} s over {args.cpu_seconds:g} s ({100 * idle_cpu / args.cpu_seconds:.1f}%)")


if __name__ == "__main__":
    main()
