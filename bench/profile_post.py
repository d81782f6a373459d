"""Where a steady post's CPU goes: cProfile of the bench survey's post through the Lambda handler.

`.venv/bin/python bench/profile_post.py [--posts N] [--sort tottime|cumulative] [--limit N] [--only REGEX]`:
the same forms, settings and DynamoDB Local as `make bench` (bench/submit.py), warmed up, then N posts profiled
(FORMLOOP_BENCH_DYNAMODB_ENDPOINT points it at a DynamoDB Local already running).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import tempfile
import uuid
from pathlib import Path

from _ddb import LOCAL_AWS_ENV, dynamodb_local_endpoint, production_env
from submit import ADMITTED, LIMITED, SURVEY, _post, proxy_event


def _by_package(stats: pstats.Stats) -> dict[str, float]:
    """Own time summed per top-level package (chalicelib per sub-package; the standard library as one)."""
    totals: dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        path = Path(filename)
        if "site-packages" in path.parts:
            package = path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
        elif "chalicelib" in path.parts:
            package = ".".join(path.parts[path.parts.index("chalicelib"):][:2]).removesuffix(".py")
        elif filename == "~":
            package = f"built-in {function.split(' of ')[0].strip('{<')}"[:60]
        else:
            package = "standard library" if "python3" in filename or filename.startswith("<frozen") else path.name
        totals[package] = totals.get(package, 0.0) + row[2]
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--only", default="", help="a regular expression: list only functions whose place matches")
    args = parser.parse_args()
    with dynamodb_local_endpoint() as endpoint, tempfile.TemporaryDirectory(prefix="formloop-profile-forms-") as forms:
        for definition in (SURVEY, LIMITED, ADMITTED):
            (Path(forms) / f"{definition['$id']}.json").write_text(json.dumps(definition), encoding="utf-8")
        from chalicelib.forms.definitions import seal_folder
        if seal_folder(Path(forms)):
            raise RuntimeError("the bench's form definitions do not pass the checks")
        os.environ.update({**LOCAL_AWS_ENV, "FORMLOOP_DYNAMODB_ENDPOINT": endpoint, "FORMLOOP_FORMS_DIR": forms,
                           "FORMLOOP_TABLE_PREFIX": f"profile-{uuid.uuid4().hex[:8]}",
                           **production_env()})
        import app as app_module
        app_module.use_services(None)
        app_module.services().create_tables()
        for _ in range(args.warmup):
            _post(app_module, proxy_event())
        events = [proxy_event() for _ in range(args.posts)]
        profiler = cProfile.Profile()
        profiler.enable()
        for event in events:
            _post(app_module, event)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats(args.sort).print_stats(*([args.only] if args.only else []), args.limit)
        print(f"Own time per post by package (cProfile's clock, so slower than unprofiled), {args.posts} posts:")
        for package, seconds in sorted(_by_package(stats).items(), key=lambda item: -item[1]):
            print(f"  {seconds / args.posts * 1e6:8.0f} us  {package}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
