"""`make bench`: what Formloop's submit path costs beside one raw DynamoDB put_item of the same item.

One run, one in-memory DynamoDB Local, three measurements:
  (a) a valid 10-field survey post through the Lambda handler vs a raw boto3 put_item (medians, p90, ratio);
  (b) DynamoDB requests per accepted submission, counted at the botocore boundary;
  (c) cold start: a fresh process serving its first post vs a fresh process doing one put_item.
The forms are served as a Lambda package serves them: checked once beforehand, as `make package` does.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# Run as a script (`python bench/submit.py`), so its siblings import as top-level modules;
# Formloop itself (app, chalicelib) comes from the installed project (`make setup`).
import cold_start
from _ddb import LOCAL_AWS_ENV, WRITE_OPERATIONS, RequestCounter, dynamodb_local_endpoint, production_env

ROOT = Path(__file__).resolve().parent.parent

FORM_ID = "bench-survey"
# A realistic survey: scores, choices, a conditional question, free text, an email, consent.
SURVEY: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": FORM_ID,
    "title": "How did we do?",
    "type": "object",
    "additionalProperties": False,
    "required": ["nps", "rating", "topic", "email", "consent"],
    "properties": {
        "nps": {"type": "integer", "minimum": 0, "maximum": 10, "x-ui": {"widget": "nps"}},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5, "x-ui": {"widget": "rating"}},
        "topic": {"type": "string", "enum": ["complaint", "idea", "question", "praise", "referral"],
                  "x-ui": {"widget": "select"}},
        "channels": {"type": "array", "uniqueItems": True, "maxItems": 4,
                     "items": {"type": "string", "enum": ["web", "shop", "phone", "email"]},
                     "x-ui": {"widget": "checkboxes"}},
        "reason": {"type": "string", "maxLength": 2000,
                   "x-ui": {"widget": "textarea", "visibleIf": {"required": ["nps"],
                                                                "properties": {"nps": {"maximum": 6}}}}},
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "x-ui": {"widget": "text"}},
        "email": {"type": "string", "format": "email", "maxLength": 254, "x-ui": {"widget": "email"}},
        "phone": {"type": "string", "maxLength": 40, "pattern": "^[0-9 +().-]*$", "x-ui": {"widget": "tel"}},
        "visited": {"type": "string", "format": "date", "x-ui": {"widget": "date"}},
        "consent": {"type": "boolean", "const": True, "x-ui": {"widget": "consent"}},
    },
    "x-form": {"kind": "survey", "locales": ["en"], "respondentEmail": "email", "feedbackKindField": "topic",
               "retentionDays": 365},
}
# The same survey with the per-client hourly limit on (high enough never to refuse the bench's posts).
LIMITED_ID = "bench-survey-limited"
LIMITED: dict[str, Any] = {**SURVEY, "$id": LIMITED_ID,
                           "x-form": {**SURVEY["x-form"], "spam": {"perIpPerHour": 10**9}}}
# The same survey taking one response per address and at most a (never reached) number of responses.
ADMITTED_ID = "bench-survey-admitted"
ADMITTED: dict[str, Any] = {**SURVEY, "$id": ADMITTED_ID,
                            "x-form": {**SURVEY["x-form"], "onePerEmail": True, "maxResponses": 10**9}}
ANSWERS: list[tuple[str, str]] = [
    ("nps", "5"), ("rating", "3"), ("topic", "idea"), ("channels", "web"), ("channels", "shop"),
    ("reason", "The checkout asked for my address twice.\r\nOtherwise fine."), ("name", "Ann Lee"),
    ("email", "ann@example.com"), ("phone", "+1 555 0100"), ("visited", "2026-11-20"), ("consent", "on"),
]
BODY = urlencode(ANSWERS)


def proxy_event(extra_headers: dict[str, str] | None = None, form_id: str = FORM_ID,
                body: str = BODY) -> dict[str, Any]:
    """The API Gateway (REST, proxy integration) event Lambda hands the handler for a browser post."""
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html,application/xhtml+xml",
               "user-agent": "Mozilla/5.0 (bench)", "host": "forms.example.com", **(extra_headers or {})}
    return {
        "resource": "/f/{form_id}", "path": f"/f/{form_id}", "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"form_id": form_id}, "stageVariables": None,
        "requestContext": {"resourcePath": "/f/{form_id}", "httpMethod": "POST", "path": f"/api/f/{form_id}",
                           "stage": "api", "identity": {"sourceIp": "203.0.113.7"}},
        "body": body, "isBase64Encoded": False,
    }


def fresh_id() -> str:
    """A new id as long as the ULIDs Formloop gives submissions, so the floor's item is not a byte bigger."""
    return uuid.uuid4().hex[:26].upper()


def _stats(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=10)[8]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def _post(app_module: Any, event: dict[str, Any]) -> None:
    response = app_module.app(event, None)
    if response["statusCode"] != 303:
        raise RuntimeError(f"the bench post was refused: {response['statusCode']} {response.get('body')}")


def bench_steady(app_module: Any, floor: Any, table: str, iterations: int, warmup: int) -> tuple[dict[str, Any], Any]:
    """(a): handler posts and raw put_items in rotating order; also keyed and rate-limited posts, for reference."""
    sides: dict[str, Callable[[], None]] = {
        "app": lambda: _post(app_module, proxy_event()),
        "app+key": lambda: _post(app_module, proxy_event({"idempotency-key": uuid.uuid4().hex})),
        "app+limit": lambda: _post(app_module, proxy_event(form_id=LIMITED_ID)),
    }
    for _ in range(warmup):
        for run in sides.values():
            run()
    # The floor writes exactly what Formloop stored (every attribute, same size), under a fresh id each time.
    newest = floor.query(TableName=table, KeyConditionExpression="form = :f", ScanIndexForward=False, Limit=1,
                         ExpressionAttributeValues={":f": {"S": FORM_ID}}, ConsistentRead=True)["Items"][0]
    items = iter([{**newest, "id": {"S": fresh_id()}} for _ in range(2 * (warmup + iterations))])
    sides["floor"] = lambda: floor.put_item(TableName=table, Item=next(items))
    # The request PynamoDB sends for Formloop: the same item, conditional, asking for consumed capacity.
    sides["floor+shape"] = lambda: floor.put_item(
        TableName=table, Item=next(items), ConditionExpression="attribute_not_exists (#0)",
        ExpressionAttributeNames={"#0": "id"}, ReturnConsumedCapacity="TOTAL")
    for _ in range(warmup):
        sides["floor"]()
        sides["floor+shape"]()

    timings: dict[str, list[float]] = {side: [] for side in sides}
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    order = list(sides.items())
    clock, cpu_clock = time.perf_counter, time.thread_time
    for index in range(iterations):
        shift = index % len(order)  # every side goes first, second... equally often
        for side, run in order[shift:] + order[:shift]:
            started, cpu_started = clock(), cpu_clock()
            run()
            cpu[side].append(cpu_clock() - cpu_started)
            timings[side].append(clock() - started)
    stats = {side: _stats(samples) for side, samples in timings.items()}
    cpu_medians = {side: statistics.median(samples) for side, samples in cpu.items()}
    return {"stats": stats, "cpu": cpu_medians, "iterations": iterations}, newest


def bench_writes(app_module: Any, counter: RequestCounter, posts: int) -> dict[str, dict[str, Any]]:
    """(b): DynamoDB requests during `posts` accepted posts: plain, with an idempotency key, with a rate limit."""
    cases: dict[str, Callable[[], dict[str, Any]]] = {
        "plain post": lambda: proxy_event(),
        "with Idempotency-Key": lambda: proxy_event({"idempotency-key": uuid.uuid4().hex}),
        "with perIpPerHour": lambda: proxy_event(form_id=LIMITED_ID),
        "with survey limits": lambda: proxy_event(form_id=ADMITTED_ID, body=urlencode(
            [(k, f"{uuid.uuid4().hex[:12]}@example.com" if k == "email" else v) for k, v in ANSWERS])),
    }
    out: dict[str, dict[str, Any]] = {}
    for label, make_event in cases.items():
        counter.reset()
        counter.active = True
        try:
            for _ in range(posts):
                _post(app_module, make_event())
        finally:
            counter.active = False
        out[label] = {"requests": dict(counter.requests), "items": counter.items_written,
                      "clients_created": counter.clients_created, "posts": posts}
    return out


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def bundle_zip(given: Path | None) -> Path:
    """The bundle to measure: the one given, else one `formloop package` builds now (as `make package` does)."""
    if given is not None:
        return given
    out = ROOT / "build" / "bench" / "package"
    subprocess.run([sys.executable, "-m", "formloop_cli", "package", str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return out / "deployment.zip"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=500, help="measured posts (and put_items) in (a)")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--write-posts", type=int, default=50, help="accepted posts counted in (b)")
    # Medians of 10 processes moved by about 0.1x from run to run on a shared machine; 20 steady them.
    parser.add_argument("--cold-rounds", type=int, default=20, help="fresh processes per side in (c)")
    parser.add_argument("--bundle", type=Path, default=None,
                        help="a deployment.zip to measure in (c); default: build one with `formloop package`")
    parser.add_argument("--bundle-dir", type=Path, default=ROOT / "build" / "bench" / "bundle",
                        help="where (c) unpacks the bundle")
    parser.add_argument("--importtime-out", type=Path, default=ROOT / "build" / "bench" / "importtime-app.txt")
    args = parser.parse_args()

    counter = RequestCounter()
    counter.install()
    with dynamodb_local_endpoint() as endpoint, tempfile.TemporaryDirectory(prefix="formloop-bench-forms-") as forms:
        for definition in (SURVEY, LIMITED, ADMITTED):
            (Path(forms) / f"{definition['$id']}.json").write_text(json.dumps(definition), encoding="utf-8")
        # As `make package` does for Lambda: definitions checked once here, their SHA-256 recorded, so a cold
        # start trusts those exact bytes instead of checking them again.
        from chalicelib.forms.definitions import CHECKED_MANIFEST, seal_folder
        if seal_folder(Path(forms)):
            raise RuntimeError("the bench's form definitions do not pass the checks")
        # Production-like settings (see production_env).
        env = {**LOCAL_AWS_ENV, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "FORMLOOP_FORMS_DIR": forms,
               "FORMLOOP_TABLE_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
               **production_env()}
        os.environ.update(env)

        import boto3
        from botocore.config import Config

        import app as app_module
        app_module.use_services(None)  # built from os.environ on the first request, as in Lambda
        services = app_module.services()
        services.create_tables()
        table = services.settings.table_name("submissions")
        # Same endpoint, region and credentials; parameter validation off, as PynamoDB has it.
        floor = boto3.client("dynamodb", endpoint_url=endpoint, config=Config(parameter_validation=False))

        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"Formloop submit benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs "
              f"(load average {load}), DynamoDB Local (in memory) at {endpoint}")
        print("Path measured: app.app(event, context) with an API Gateway proxy event, as Lambda calls it.\n")

        steady, item = bench_steady(app_module, floor, table, args.iterations, args.warmup)
        size = len(json.dumps(item))
        print(f"(a) valid 10-field survey post vs raw put_item of the same item ({size} bytes as DynamoDB JSON), "
              f"{steady['iterations']} each, in rotating order, after {args.warmup} warm-up each")
        stats = steady["stats"]
        floor_median = stats["floor"][0]
        for side, label in (("app", "Formloop post (handler)"), ("floor", "boto3 put_item (floor)"),
                            ("floor+shape", "  for reference: put_item as PynamoDB sends it"),
                            ("app+key", "  for reference: post + Idempotency-Key"),
                            ("app+limit", "  for reference: post + perIpPerHour")):
            median, p90 = stats[side]
            ratio = f"{median / floor_median:5.2f}x floor" if side != "floor" else " " * 11
            print(f"    {label:48} median {_ms(median)}   p90 {_ms(p90)}   {ratio}   "
                  f"our CPU {_ms(steady['cpu'][side])}")
        print(f"    ratio of medians, plain post / put_item: {stats['app'][0] / floor_median:.2f}x "
              "(target <= 1.20x, aim <= 1.10x); 'our CPU' is this process's CPU time, DynamoDB Local's not included\n")

        writes = bench_writes(app_module, counter, args.write_posts)
        print("(b) DynamoDB requests per accepted submission (botocore before-send, every client, retries counted)")
        for label, found in writes.items():
            posts = found["posts"]
            per_op = ", ".join(f"{op} {count / posts:g}" for op, count in sorted(found["requests"].items()))
            write_requests = sum(c for op, c in found["requests"].items() if op in WRITE_OPERATIONS)
            print(f"    {label:21} {per_op or 'none'}; write requests {write_requests / posts:g}, "
                  f"items written {found['items'] / posts:g}, new clients {found['clients_created'] / posts:g}"
                  f" per post ({posts} posts)")
        print("    target: 1 write request per submission\n")

        child_env = cold_start.main_env({**env, "FORMLOOP_BENCH_TABLE": table})
        # As Lambda runs it: the bundle `make package` builds, unpacked read-only, `python -I -S`, the runtime's boto3.
        layout = cold_start.unpack_bundle(bundle_zip(args.bundle), args.bundle_dir)

        def item_for() -> dict[str, Any]:
            return {**item, "id": {"S": fresh_id()}}

        cold = cold_start.measure(child_env, proxy_event, item_for, args.cold_rounds, layout)
        print(f"(c) cold start as Lambda runs the bundle ({layout.task}, read-only), {args.cold_rounds} fresh "
              f"processes per side, alternated (medians; load average {_load()})")
        print(f"    {'app: import app.py + first post':40} process {_ms(cold['app']['wall'])}   "
              f"in-process {_ms(cold['app']['inside'])}")
        print(f"    {'floor: import boto3 + client + put_item':40} process {_ms(cold['floor']['wall'])}   "
              f"in-process {_ms(cold['floor']['inside'])}")
        print(f"    {'CPU of each process up to its answer':40} app {_ms(cold['app']['cpu'])}   "
              f"floor {_ms(cold['floor']['cpu'])}")
        print(f"    ratio: process {cold['app']['wall'] / cold['floor']['wall']:.2f}x, in-process "
              f"{cold['app']['inside'] / cold['floor']['inside']:.2f}x, "
              f"CPU {cold['app']['cpu'] / cold['floor']['cpu']:.2f}x"
              " (target <= 1.10x, aim <= 1.00x; on a busy machine the CPU ratio is the steadiest)")
        limited = cold_start.measure(child_env, lambda: proxy_event(form_id=LIMITED_ID), item_for,
                                     max(2, args.cold_rounds // 2), layout)
        print(f"    for reference, a first post to a form with `perIpPerHour` (one transaction: PynamoDB loads): app "
              f"process {_ms(limited['app']['wall'])}, {limited['app']['wall'] / limited['floor']['wall']:.2f}x floor, "
              f"CPU {limited['app']['cpu'] / limited['floor']['cpu']:.2f}x")
        bare = cold_start.unpack_bundle(bundle_zip(args.bundle), args.bundle_dir / "without-bytecode", bytecode=False)
        uncompiled = cold_start.measure(child_env, proxy_event, item_for, max(2, args.cold_rounds // 2), bare)
        print(f"    for reference, the same bundle without its .pyc files (compiling every import): app process "
              f"{_ms(uncompiled['app']['wall'])}, {uncompiled['app']['wall'] / uncompiled['floor']['wall']:.2f}x "
              "floor")
        with tempfile.TemporaryDirectory(prefix="formloop-bench-unsealed-") as unsealed_dir:
            shutil.copytree(forms, unsealed_dir, ignore=shutil.ignore_patterns(CHECKED_MANIFEST), dirs_exist_ok=True)
            unsealed = cold_start.measure({**child_env, "FORMLOOP_FORMS_DIR": unsealed_dir}, proxy_event,
                                          item_for, max(2, args.cold_rounds // 2), layout)
        print(f"    for reference, definitions not packaged (checked on load, as `make run` does): app process "
              f"{_ms(unsealed['app']['wall'])}, {unsealed['app']['wall'] / unsealed['floor']['wall']:.2f}x floor\n")

        split = cold_start.phases(child_env, proxy_event(), FORM_ID, item_for, layout=layout)
        for side, named in split.items():
            print(f"    {side} phases (median of 3): " + ", ".join(f"{name} {seconds * 1000:.0f} ms"
                                                               for name, seconds in named.items()))
        lines = cold_start.importtime_report(child_env, proxy_event(), item_for(), args.importtime_out,
                                             layout=layout)
        for line in lines:
            print(f"    {line}")
        print(f"    -X importtime: {args.importtime_out} (app), importtime-app-top.txt (its top offenders) "
              "and importtime-floor.txt beside it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
