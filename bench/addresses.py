"""Export and erasure of one address with 1k vs 100k stored submissions (run by `bench/inbox.py`, make bench-inbox).

Both read the submissions' address indexes, then each submission of that address by its key
(chalicelib/storage/address_index.py), so they must cost the same whatever the table holds. For each size, tables
of their own are seeded in bulk (batch writes from a few threads, as bench/inbox.py seeds cases) with N
submissions from N different addresses, and the same 5 from the address asked about (two of them by `_replyto`).
Then AddressRequests.export and .erase of that address are timed, both sizes in alternating blocks: an erasure
deletes the 5, so they are written again (untimed) before each one. The 1,000 run is the floor of the ratio.
"""
from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _ddb import batch_put

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "ann.lee@example.com"
MINE = 5
WRITERS = 4


def submission(rng: random.Random, respondent: str, reply_to: str | None = None) -> Any:
    """A plausible contact post from `respondent` within the last 30 days."""
    from ulid import ULID

    from chalicelib.core.submission import Submission
    created = datetime.now(UTC) - timedelta(seconds=rng.randrange(30 * 86400))
    return Submission(form="contact", id=str(ULID.from_datetime(created)), created_at=created, status="received",
                      answers={"name": "R", "email": respondent, "topic": "question", "message": "Hello there"},
                      feedback_kind="question", language="en", respondent_email=respondent, reply_to=reply_to)


def mine(rng: random.Random) -> list[Any]:
    """The address's own submissions: three as the respondent, two naming it as `_replyto`."""
    return ([submission(rng, ADDRESS) for _ in range(3)]
            + [submission(rng, f"colleague{n}@example.com", reply_to=ADDRESS) for n in range(2)])


def seed(services: Any, count: int, rng: random.Random) -> float:
    """Write `count` submissions of other addresses, serialised once, in batches of 25 from a few threads."""
    from chalicelib.storage.base import botocore_client
    store = services.store
    table = store.submissions.Meta.table_name
    client = botocore_client(store.submissions)
    items = [store.tables.record_item(submission(rng, f"r{n}@example.com")) for n in range(count)]
    return batch_put(client, table, items, WRITERS)


def prepare(endpoint: str, count: int) -> dict[str, Any]:
    """Tables of their own with `count` other submissions and the address's own; the services."""
    from chalicelib.core.config import Settings
    from chalicelib.wiring import build_services
    services = build_services(Settings.from_environ({
        "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "FORMLOOP_FORMS_DIR": str(ROOT / "forms"),
        "FORMLOOP_TABLE_PREFIX": f"bench-addresses-{count}-{uuid.uuid4().hex[:6]}",
        "FORMLOOP_STORAGE_TIMEOUT_SECONDS": "120"}))
    services.create_tables()
    rng = random.Random(count)
    seconds = seed(services, count, rng)
    print(f"{count:,} submissions seeded in {seconds:.0f} s", flush=True)
    return {"count": count, "services": services, "rng": rng, "seed_seconds": round(seconds, 1),
            "samples": {"export": [], "erase": []}, "present": False}


def time_once(run: dict[str, Any], what: str) -> float:
    services = run["services"]
    if not run["present"]:  # erased by the last erasure: written again, untimed
        for own in mine(run["rng"]):
            services.store.put(own)
    run["present"] = what == "export"
    started = time.perf_counter()
    answer = getattr(services.addresses, what)(ADDRESS, None)
    elapsed = time.perf_counter() - started
    found = answer["submissions" if what == "export" else "erased"]
    assert len(found) == MINE and answer["cursor"] is None, answer
    return elapsed


def measure(endpoint: str, small: int, large: int, rounds: int, iterations: int, warmup: int) -> dict[str, Any]:
    """Both sizes seeded, then timed in alternating blocks; rows and each request's large/small median ratio."""
    prepared = [prepare(endpoint, n) for n in (small, large)]
    for _ in range(rounds):
        for run in prepared:
            for what in ("export", "erase"):
                samples = [time_once(run, what) for _ in range(warmup + iterations)]
                run["samples"][what] += samples[warmup:]
    rows = []
    for run in prepared:
        row: dict[str, Any] = {"submissions": run["count"], "seed_seconds": run["seed_seconds"]}
        for what, samples in run["samples"].items():
            ordered = sorted(samples)
            row[f"{what}_median_ms"] = round(statistics.median(ordered) * 1000, 2)
            row[f"{what}_p90_ms"] = round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 2)
        rows.append(row)
    ratios = {what: round(rows[1][f"{what}_median_ms"] / rows[0][f"{what}_median_ms"], 2)
              for what in ("export", "erase")}
    print(f"{'submissions':>12} {'seed s':>7} {'export ms':>10} {'p90':>7} {'erase ms':>10} {'p90':>7}")
    for row in rows:
        print(f"{row['submissions']:>12,} {row['seed_seconds']:>7} {row['export_median_ms']:>10} "
              f"{row['export_p90_ms']:>7} {row['erase_median_ms']:>10} {row['erase_p90_ms']:>7}")
    for what, ratio in ratios.items():
        print(f"{what} of one address, median ratio {large:,} / {small:,}: {ratio:.2f} (target <= 1.5)")
    return {"runs": rows, "median_ratio_large_to_small": ratios, "target": "<= 1.5"}


def main() -> int:
    """`python bench/addresses.py`: this part of make bench-inbox alone; 0 when both ratios are within target."""
    import argparse
    import json

    from _ddb import dynamodb_local_endpoint
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks of timings per size")
    parser.add_argument("--iterations", type=int, default=10, help="timed requests per block, size and request")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "addresses.json")
    args = parser.parse_args()
    with dynamodb_local_endpoint() as endpoint:
        report = measure(endpoint, args.small, args.large, args.rounds, args.iterations, warmup=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return 0 if all(ratio <= 1.5 for ratio in report["median_ratio_large_to_small"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
