"""`python bench/gifts.py`: what issuing gifts costs beside plain submissions, in one run.

One in-memory DynamoDB Local, the same number of threads for both measurements:
  (a) plain submissions per second: customer-survey posts through the submit service;
  (b) gifts issued per second under contention: every thread released at once against one shared pool,
      each for a different respondent, plus a second wave that finds the pool empty;
  (c) DynamoDB requests per issued gift (botocore before-send on every client), writes and items written.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# Run as a script (`python bench/gifts.py`), so its siblings import as top-level modules;
# Formloop itself (chalicelib) comes from the installed project (`make setup`).
from _ddb import WRITE_OPERATIONS, RequestCounter, dynamodb_local_endpoint

ROOT = Path(__file__).resolve().parent.parent


def released_together(count: int, threads: int, work: Callable[[int], Any]) -> tuple[list[Any], float]:
    """Run work(i) for i < count on `threads` threads released by one barrier; (results, seconds)."""
    barrier = threading.Barrier(threads + 1)
    results: list[Any] = [None] * count

    def worker(offset: int) -> None:
        barrier.wait()
        for i in range(offset, count, threads):
            results[i] = work(i)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return results, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--count", type=int, default=600, help="submissions, and codes in the pool")
    args = parser.parse_args()
    counter = RequestCounter()
    counter.install()
    with dynamodb_local_endpoint() as endpoint, tempfile.TemporaryDirectory() as folder:
        forms_dir = Path(folder) / "forms"
        shutil.copytree(ROOT / "forms", forms_dir)
        campaign = json.loads((forms_dir / "gifts" / "spring-coupon.json").read_text(encoding="utf-8"))
        campaign["codes"]["count"] = args.count
        (forms_dir / "gifts" / "spring-coupon.json").write_text(json.dumps(campaign), encoding="utf-8")
        from chalicelib.core.config import Settings
        from chalicelib.core.submission import Submission
        from chalicelib.intake.service import SubmitRequest
        from chalicelib.wiring import build_services
        settings = Settings.from_environ({
            "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "FORMLOOP_TABLE_PREFIX": f"bench-{uuid.uuid4().hex[:6]}",
            "FORMLOOP_FORMS_DIR": str(forms_dir), "FORMLOOP_STAGE": "local"})
        services = build_services(settings)
        services.create_tables()
        gifts = services.gifts
        assert gifts is not None
        gifts.ensure_all_generated()

        def submit(i: int) -> Any:
            body = urlencode({"nps": "9", "reason": "x", "email": f"plain{i}@example.com", "csat": "5"})
            return services.submissions.submit(SubmitRequest(
                form_id="customer-survey", body=body.encode(), source_ip=f"10.0.{i // 250}.{i % 250}",
                headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}))

        def issue(i: int) -> Any:
            stored = Submission(form="customer-survey", id=uuid.uuid4().hex, created_at=datetime.now(UTC),
                                status="received", answers={}, respondent_email=f"person{i}@example.com",
                                language="en")
            return gifts.issue(stored)

        submit(-1)  # warm up clients and templates outside the clock
        _, plain_seconds = released_together(args.count, args.threads, submit)
        counter.reset()
        counter.active = True
        outcomes, gift_seconds = released_together(args.count, args.threads, issue)
        counter.active = False
        issued = [o.gift for o in outcomes if o is not None and o.gift is not None]
        requests = dict(counter.requests)
        items_written = counter.items_written
        counter.reset()
        counter.active = True
        empty, empty_seconds = released_together(args.count // 2, args.threads,
                                                 lambda i: issue(args.count + i))
        counter.active = False
        assert len(issued) == args.count == len({g.code for g in issued}), "every code issued exactly once"
        assert all(o is not None and o.out_of_stock for o in empty)
        writes = sum(n for op, n in requests.items() if op in WRITE_OPERATIONS)
        report = {
            "threads": args.threads, "count": args.count,
            "plain_submissions_per_second": round(args.count / plain_seconds, 1),
            "gifts_issued_per_second": round(len(issued) / gift_seconds, 1),
            "out_of_stock_answers_per_second": round(len(empty) / empty_seconds, 1),
            "requests_per_issued_gift": {op: round(n / len(issued), 2) for op, n in sorted(requests.items())},
            "write_requests_per_issued_gift": round(writes / len(issued), 2),
            "items_written_per_issued_gift": round(items_written / len(issued), 2),
            "requests_per_out_of_stock_answer": {op: round(n / len(empty), 2)
                                                 for op, n in sorted(counter.requests.items())},
            "stock_after": gifts.stock("spring-coupon"),
        }
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
