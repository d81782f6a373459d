"""`python bench/results.py`: survey results latency with 1k vs 100k stored submissions.

Results are read from counter items kept up to date as submissions arrive, so reading them must
cost the same whatever the number of submissions. For each size, one in-memory DynamoDB Local
gets its own tables, seeded in bulk (batch writes) with N product-feedback submissions, their
per-submission markers and free-text items, and the counters those submissions add up to. Then
GET /admin/forms/product-feedback/results is timed through the Chalice app (median and p90).
For contrast, one read of every submission (what computing results on demand would cost) is timed too.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a script (`python bench/results.py`), so its siblings import as top-level modules;
# Formloop itself (app, chalicelib) comes from the installed project (`make setup`).
from _ddb import dynamodb_local_endpoint

ROOT = Path(__file__).resolve().parent.parent

FORM_ID = "product-feedback"
KEY = "bench-admin-key-" + uuid.uuid4().hex
TEXTS = ["Faster delivery please", "The app crashes at checkout", "More payment options", "Cheaper shipping"]


def fake_answers(rng: random.Random, n: int) -> dict[str, Any]:
    """One plausible, valid product-feedback response."""
    nps = rng.randint(0, 10)
    answers: dict[str, Any] = {
        "email": f"r{n}@example.com", "product": rng.choice(["app", "website", "store"]),
        "plan": rng.choice(["free", "basic", "plus", "business"]),
        "features": rng.sample(["search", "checkout", "tracking", "returns", "reviews"], rng.randint(1, 2)),
        "satisfaction": rng.randint(1, 5), "nps": nps, "orders": rng.randint(0, 40),
        "agreement": {row: rng.randint(1, 5) for row in ("easy", "fast", "value")},
        "kind": rng.choice(["complaint", "idea", "question", "praise", "referral"]), "consent": True,
    }
    if nps <= 6:
        answers["improve"] = rng.choice(TEXTS)
    return answers


def seed(services: Any, count: int, rng: random.Random) -> float:
    """Write `count` submissions and everything the results consumer would have written for them."""
    from ulid import ULID

    from chalicelib.core.submission import Submission
    from chalicelib.reporting.results import contribution
    definition = services.forms.get(FORM_ID)
    records = services.store.submissions
    results = services.results.store.results
    totals: Counter[str] = Counter()
    latest: dict[str, list[dict[str, Any]]] = {}
    started = time.perf_counter()
    start_day = datetime.now(UTC) - timedelta(days=30)
    with records.batch_write() as submissions, results.batch_write() as extras:
        for n in range(count):
            created = start_day + timedelta(seconds=n * 30 * 86400 // max(count, 1))
            answers = fake_answers(rng, n)
            submission = Submission(form=FORM_ID, id=str(ULID.from_datetime(created)), created_at=created,
                                    status="received", answers=answers, feedback_kind=answers["kind"],
                                    language="en", respondent_email=answers["email"])
            submissions.save(services.store.tables._record(submission))
            added = contribution(definition, submission, 365)
            assert added is not None
            for name, amount in added.counts.items():
                totals[name] += amount  # type: ignore[assignment]
            extras.save(results(FORM_ID, f"m#{submission.id}"))
            for question, text in added.texts.items():
                # Submissions are seeded oldest first: the last ones seen are the latest answers.
                kept = latest.setdefault(question, [])
                kept.insert(0, {"id": submission.id, "text": text, "at": int(created.timestamp()),
                                "expires": int((created + timedelta(days=365)).timestamp())})
                del kept[services.results.store.latest:]
    services.results.store.put_results(FORM_ID, {k: Decimal(str(v)) for k, v in totals.items()}, latest)
    return time.perf_counter() - started


def time_results(client: Any, iterations: int, warmup: int) -> list[float]:
    samples = []
    for index in range(warmup + iterations):
        started = time.perf_counter()
        response = client.http.get(f"/admin/forms/{FORM_ID}/results", headers={"Authorization": f"Bearer {KEY}"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.body
        if index >= warmup:
            samples.append(elapsed)
    return samples


def time_full_read(services: Any, rounds: int) -> float:
    """The median time to read every submission once: what on-demand results would cost."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _record in services.store.submissions.query(FORM_ID):
            pass
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(endpoint: str, count: int, iterations: int, warmup: int, full_rounds: int) -> dict[str, Any]:
    from chalice.test import Client

    import app as app_module
    from chalicelib.core.config import Settings
    from chalicelib.core.keys import AdminAuth, hash_key
    from chalicelib.wiring import build_services
    settings = Settings.from_environ({"FORMLOOP_DYNAMODB_ENDPOINT": endpoint,
                                      "FORMLOOP_TABLE_PREFIX": f"bench-{count}-{uuid.uuid4().hex[:6]}",
                                      "FORMLOOP_FORMS_DIR": str(ROOT / "forms"),
                                      # Reading 100k items in 1 MB pages is slow on DynamoDB Local.
                                      "FORMLOOP_STORAGE_TIMEOUT_SECONDS": "120"})
    services = build_services(replace(settings))
    services.admin = AdminAuth([hash_key(KEY)])
    services.create_tables()
    seconds = seed(services, count, random.Random(count))
    app_module.use_services(services)
    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
        summary = client.http.get(f"/admin/forms/{FORM_ID}/results",
                                  headers={"Authorization": f"Bearer {KEY}"}).json_body
        assert summary["total"] == count, summary["total"]
        samples = time_results(client, iterations, warmup)
    app_module.use_services(None)
    ordered = sorted(samples)
    print(f"{count:,} submissions: results median {statistics.median(samples) * 1000:.2f} ms", flush=True)
    return {"submissions": count, "seed_seconds": round(seconds, 1),
            "results_median_ms": round(statistics.median(samples) * 1000, 2),
            "results_p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 2),
            "read_all_submissions_ms": round(time_full_read(services, full_rounds) * 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--full-rounds", type=int, default=1, help="reads of every submission, for contrast")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "results.json")
    args = parser.parse_args()
    with dynamodb_local_endpoint() as endpoint:
        rows = [measure(endpoint, n, args.iterations, args.warmup, args.full_rounds)
                for n in (args.small, args.large)]
    ratio = rows[1]["results_median_ms"] / rows[0]["results_median_ms"]
    report = {"runs": rows, "median_ratio_large_to_small": round(ratio, 2), "target": "<= 1.5"}
    print(f"{'submissions':>12} {'seed s':>8} {'results median ms':>18} {'p90 ms':>8} {'read-all ms':>12}")
    for row in rows:
        print(f"{row['submissions']:>12,} {row['seed_seconds']:>8} {row['results_median_ms']:>18} "
              f"{row['results_p90_ms']:>8} {row['read_all_submissions_ms']:>12}")
    print(f"results median ratio {args.large:,} / {args.small:,}: {ratio:.2f} (target <= 1.5)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
