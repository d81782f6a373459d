"""`python bench/gifts.py` (`make bench-gifts`): what gifts cost beside plain submissions, in one run.

One in-memory DynamoDB Local, the same number of threads for every measurement:
  (a) plain submissions per second: customer-survey posts through the submit service;
  (b) gift links per second: the gift step of the acknowledgement for answers that earn a link (a promise:
      no code is taken), for half again as many answers as there are codes, every thread released at once;
  (c) claims per second: every one of those links claimed at once, racing for the pool; the claims past the
      pool's size find it empty. Checked exactly: each code claimed once, every other claim told they ran out;
      printed as claims per second (and against plain posts) and as codes handed per second;
  (d) DynamoDB requests per link and per claim (botocore before-send on every client), writes and items written.
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
        from chalicelib.gifts.service import GiftsRanOutError
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

        def answer(i: int) -> Any:
            stored = Submission(form="customer-survey", id=uuid.uuid4().hex, created_at=datetime.now(UTC),
                                status="received", answers={}, respondent_email=f"person{i}@example.com",
                                language="en")
            return gifts.acknowledgement_extra(stored)["gift"]["url"]

        def claim(link: str) -> Any:
            gift_id, token = link.split("/g/")[1].split("?t=")
            try:
                return gifts.claim(gift_id, token).code
            except GiftsRanOutError:
                return None

        answers = args.count + args.count // 2
        submit(-1)  # warm up clients and templates outside the clock
        _, plain_seconds = released_together(args.count, args.threads, submit)
        counter.reset()
        counter.active = True
        links, link_seconds = released_together(answers, args.threads, answer)
        counter.active = False
        link_requests, link_items = dict(counter.requests), counter.items_written
        stock_after_links = gifts.stock("spring-coupon")
        assert stock_after_links["available"] == args.count, "an answer takes no code"
        counter.reset()
        counter.active = True
        codes, claim_seconds = released_together(answers, args.threads, lambda i: claim(links[i]))
        counter.active = False
        handed = [code for code in codes if code is not None]
        assert len(handed) == args.count == len(set(handed)), "every code claimed exactly once"
        assert codes.count(None) == answers - args.count, "every other claim told the gifts ran out"
        plain_rate = args.count / plain_seconds
        link_rate = answers / link_seconds
        writes = sum(n for op, n in link_requests.items() if op in WRITE_OPERATIONS)
        claim_writes = sum(n for op, n in counter.requests.items() if op in WRITE_OPERATIONS)
        report = {
            "threads": args.threads, "codes": args.count, "answers": answers,
            "plain_submissions_per_second": round(plain_rate, 1),
            "gift_links_per_second": round(link_rate, 1),
            "gift_links_vs_plain": round(link_rate / plain_rate, 2),
            "claims_per_second": round(answers / claim_seconds, 1),
            "claims_vs_plain": round(answers / claim_seconds / plain_rate, 2),
            # Only the claims that found stock take a code: the rate at which codes reached people.
            "codes_handed_per_second": round(args.count / claim_seconds, 1),
            "requests_per_gift_link": {op: round(n / answers, 2) for op, n in sorted(link_requests.items())},
            "write_requests_per_gift_link": round(writes / answers, 2),
            "items_written_per_gift_link": round(link_items / answers, 2),
            "requests_per_claim": {op: round(n / answers, 2) for op, n in sorted(counter.requests.items())},
            "write_requests_per_claim": round(claim_writes / answers, 2),
            "stock_after_links": stock_after_links,
            "stock_after_claims": gifts.stock("spring-coupon"),
        }
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
