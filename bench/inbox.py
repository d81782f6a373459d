"""`python bench/inbox.py`: the first page of the dashboard's inbox with 1k vs 100k stored cases.

The inbox reads what it shows: a page is one Query of the index that matches its filters (docs/dashboard.md),
so it must cost the same whatever the number of cases. For each size, one in-memory DynamoDB Local gets its own
tables, seeded in bulk (batch writes from a few threads) with N cases of every kind and status, a tenth of them
overdue. Then GET /admin/inbox, GET /admin/inbox?overdue=1 and GET /admin/inbox?kind=question are timed through
the Chalice app with a signed session cookie, both sizes in alternating blocks (median and p90), and the first
page's medians are compared. Then, on the same DynamoDB Local, export and erasure of one address at the same two
sizes of the submissions table (bench/addresses.py; `--no-addresses` skips it).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script (`python bench/inbox.py`), so its siblings import as top-level modules;
# Formloop itself (app, chalicelib) comes from the installed project (`make setup`).
import addresses
from _ddb import batch_put, dynamodb_local_endpoint

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("complaint", "idea", "question", "praise", "referral")
STATUSES = ("new", "new", "open", "answered", "resolved", "closed")
VIEWS = {"inbox": "/admin/inbox", "overdue": "/admin/inbox?overdue=1", "question": "/admin/inbox?kind=question"}
WRITERS = 4  # threads writing batches at once: DynamoDB Local takes them faster than one writer


def fake_case(rng: random.Random, n: int, now: datetime, count: int) -> Any:
    """One plausible case: received within the last 30 days, of any kind and status, some overdue."""
    from ulid import ULID

    from chalicelib.cases.model import Case
    from chalicelib.cases.reactions import due_time
    created = now - timedelta(seconds=30 * 86400 * (count - n) // max(count, 1))
    kind = rng.choice(KINDS)
    status = rng.choice(STATUSES)
    folder = "spam" if rng.random() < 0.05 else "inbox"
    return Case(form=rng.choice(["contact", "product-feedback"]), submission_id=str(ULID.from_datetime(created)),
                kind=kind, status=status, folder=folder, created_at=created,
                due_at=due_time({}, kind, created) if folder == "inbox" else None,
                respondent=f"r{n}@example.com", language="en", source=rng.choice(["newsletter", "blog.example", None]))


def seed(services: Any, count: int, rng: random.Random) -> float:
    """Write `count` cases with every index attribute the store gives them: BatchWriteItem calls of 25 items,
    serialised once, from a few threads (unprocessed items sent again)."""
    from chalicelib.storage.base import botocore_client
    store = services.cases.store
    table = store.cases.Meta.table_name
    client = botocore_client(store.cases)
    now = datetime.now(UTC)
    items = [store._record(fake_case(rng, n, now, count), 0).serialize() for n in range(count)]
    return batch_put(client, table, items, WRITERS)


def time_view(client: Any, path: str, cookie: str, iterations: int, warmup: int) -> list[float]:
    samples = []
    for index in range(warmup + iterations):
        started = time.perf_counter()
        response = client.http.get(path, headers={"Cookie": cookie})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.body[:300]
        if index >= warmup:
            samples.append(elapsed)
    return samples


def prepare(endpoint: str, count: int) -> dict[str, Any]:
    """Tables of their own for `count` cases, seeded; the services and a signed session cookie."""
    from chalicelib.cases.session import SESSION_COOKIE, issue
    from chalicelib.core.config import Settings
    from chalicelib.wiring import build_services
    settings = Settings.from_environ({"FORMLOOP_DYNAMODB_ENDPOINT": endpoint,
                                      "FORMLOOP_TABLE_PREFIX": f"bench-inbox-{count}-{uuid.uuid4().hex[:6]}",
                                      "FORMLOOP_FORMS_DIR": str(ROOT / "forms"),
                                      "FORMLOOP_STORAGE_TIMEOUT_SECONDS": "120"})
    services = build_services(replace(settings))
    services.create_tables()
    seconds = seed(services, count, random.Random(count))
    print(f"{count:,} cases seeded in {seconds:.0f} s", flush=True)
    cookie = f"{SESSION_COOKIE}={issue(services.settings.secret('session_secret'), 'bench', datetime.now(UTC))[0]}"
    return {"count": count, "services": services, "cookie": cookie, "seed_seconds": round(seconds, 1),
            "samples": {name: [] for name in VIEWS}}


def measure(prepared: list[dict[str, Any]], rounds: int, iterations: int, warmup: int) -> list[dict[str, Any]]:
    """Time each view of each size in alternating blocks, so both sizes meet the same JVM warmth and load."""
    from chalice.test import Client

    import app as app_module
    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
        for _ in range(rounds):
            for run in prepared:
                app_module.use_services(run["services"])
                first = client.http.get("/admin/inbox", headers={"Cookie": run["cookie"]})
                assert first.status_code == 200 and first.body.count(b'data-label="Due"') == 25, first.body[:300]
                for name, path in VIEWS.items():
                    run["samples"][name] += time_view(client, path, run["cookie"], iterations, warmup)
    app_module.use_services(None)
    rows = []
    for run in prepared:
        row: dict[str, Any] = {"cases": run["count"], "seed_seconds": run["seed_seconds"]}
        for name, samples in run["samples"].items():
            ordered = sorted(samples)
            row[f"{name}_median_ms"] = round(statistics.median(ordered) * 1000, 2)
            row[f"{name}_p90_ms"] = round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 2)
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks of timings per size")
    parser.add_argument("--iterations", type=int, default=40, help="timed requests per view and block")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "inbox.json")
    parser.add_argument("--no-addresses", action="store_true", help="skip export and erasure by address")
    parser.add_argument("--address-iterations", type=int, default=10, help="timed requests per block and size")
    args = parser.parse_args()
    by_address: dict[str, Any] | None = None
    with dynamodb_local_endpoint() as endpoint:
        prepared = [prepare(endpoint, n) for n in (args.small, args.large)]
        rows = measure(prepared, args.rounds, args.iterations, args.warmup)
        del prepared  # the cases' tables stay in DynamoDB Local, but not their 100k items in this process
        if not args.no_addresses:
            by_address = addresses.measure(endpoint, args.small, args.large, args.rounds, args.address_iterations,
                                           warmup=2)
    ratio = rows[1]["inbox_median_ms"] / rows[0]["inbox_median_ms"]
    report = {"runs": rows, "median_ratio_large_to_small": round(ratio, 2), "target": "<= 1.5",
              "by_address": by_address}
    print(f"{'cases':>10} {'seed s':>7} " + " ".join(f"{name + ' ms':>14} {'p90':>7}" for name in VIEWS))
    for row in rows:
        print(f"{row['cases']:>10,} {row['seed_seconds']:>7} " + " ".join(
            f"{row[name + '_median_ms']:>14} {row[name + '_p90_ms']:>7}" for name in VIEWS))
    print(f"first inbox page median ratio {args.large:,} / {args.small:,}: {ratio:.2f} (target <= 1.5)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    address_ratios = by_address["median_ratio_large_to_small"].values() if by_address else []
    return 0 if ratio <= 1.5 and all(r <= 1.5 for r in address_ratios) else 1


if __name__ == "__main__":
    raise SystemExit(main())
