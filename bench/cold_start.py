"""Cold start: a fresh process serving its first post through app.py, beside one doing a single raw put_item.

Both run as Lambda runs them when given a `Layout` of the built bundle: the zip unpacked into a read-only folder
(Lambda's /var/task, where Python cannot cache bytecode, so only the .pyc files the bundle ships are used), and
`python -I -S` with nothing but that folder and the runtime's boto3, botocore and their dependencies.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# What the python3.13 Lambda runtime provides besides the standard library.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


@dataclass(frozen=True)
class Layout:
    """Where a cold start's code comes from: the working tree (task None), or an unpacked bundle and the runtime."""

    task: Path | None = None
    runtime: Path | None = None

    def command(self, code: str, side: str, *flags: str) -> tuple[list[str], Path]:
        """The child's command line and working folder; side "app" sees the bundle, "floor" only the runtime."""
        if self.task is None or self.runtime is None:
            return [sys.executable, *flags, "-c", code], ROOT
        paths = [str(self.task), str(self.runtime)] if side == "app" else [str(self.runtime)]
        # -B as well: a read-only folder stops no root user, and Lambda's /var/task keeps no bytecode written there.
        return [sys.executable, "-I", "-S", "-B", *flags, "-c", f"import sys; sys.path[:0] = {paths!r}\n{code}"], \
            self.task


WORKING_TREE = Layout()


def unpack_bundle(bundle: Path, into: Path, *, bytecode: bool = True) -> Layout:
    """The bundle unpacked read-only into `into`/task (without its .pyc files unless `bytecode`), beside a folder
    linking the runtime's boto3 and dependencies from this virtualenv into `into`/runtime."""
    task, runtime = into / "task", into / "runtime"
    for folder in (task, runtime):
        if folder.exists():
            for path in folder.rglob("*"):
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            if bytecode or "__pycache__/" not in name:
                archive.extract(name, task)
    site = Path(__import__("botocore").__file__).resolve().parents[1]
    for name in RUNTIME_PROVIDED:
        (runtime / name).symlink_to(site / name)
    for path in [task, *task.rglob("*")]:  # read-only, as /var/task is: Python can write no bytecode here
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return Layout(task, runtime)


# What Lambda does on a cold start: import the handler module, then call it with the API Gateway event.
APP_CHILD = """\
import time
started = time.perf_counter()
import json, sys
import app
response = app.app(json.loads(sys.argv[1]), None)
print(json.dumps({"status": response["statusCode"], "seconds": time.perf_counter() - started,
                  "cpu": time.process_time()}), flush=True)
"""

# The floor: the least a Lambda that stores the same item could do.
FLOOR_CHILD = """\
import time
started = time.perf_counter()
import json, os, sys
import boto3
client = boto3.client("dynamodb", endpoint_url=os.environ["FORMLOOP_DYNAMODB_ENDPOINT"])
response = client.put_item(TableName=os.environ["FORMLOOP_BENCH_TABLE"], Item=json.loads(sys.argv[1]))
status = response["ResponseMetadata"]["HTTPStatusCode"]
print(json.dumps({"status": status, "seconds": time.perf_counter() - started, "cpu": time.process_time()}),
      flush=True)
"""


# Diagnosis only (not timed against the floor): the same cold start, cut into phases.
APP_PHASES = """\
import time
marks = [time.perf_counter()]
import json, sys
import app
marks.append(time.perf_counter())
services = app.services()
marks.append(time.perf_counter())
services.forms.get(sys.argv[2])
marks.append(time.perf_counter())
response = app.app(json.loads(sys.argv[1]), None)
marks.append(time.perf_counter())
names = ["import app.py", "build services", "load + check the form", "first post (client, validation, put)"]
spans = [b - a for a, b in zip(marks, marks[1:])]
print(json.dumps({"status": response["statusCode"], "phases": dict(zip(names, spans))}))
"""

FLOOR_PHASES = """\
import time
marks = [time.perf_counter()]
import json, os, sys
import boto3
marks.append(time.perf_counter())
client = boto3.client("dynamodb", endpoint_url=os.environ["FORMLOOP_DYNAMODB_ENDPOINT"])
marks.append(time.perf_counter())
response = client.put_item(TableName=os.environ["FORMLOOP_BENCH_TABLE"], Item=json.loads(sys.argv[1]))
marks.append(time.perf_counter())
names = ["import boto3", "build the client", "put_item"]
status = response["ResponseMetadata"]["HTTPStatusCode"]
spans = [b - a for a, b in zip(marks, marks[1:])]
print(json.dumps({"status": status, "phases": dict(zip(names, spans))}))
"""


def phases(env: Mapping[str, str], event: Any, form_id: str, item_for: Any,
           rounds: int = 3, layout: Layout = WORKING_TREE) -> dict[str, dict[str, float]]:
    """Median seconds per phase of each cold start, over `rounds` fresh processes per side."""
    found: dict[str, dict[str, list[float]]] = {"app": {}, "floor": {}}
    for _ in range(rounds):
        for side, args in (("app", [APP_PHASES, json.dumps(event), form_id]),
                           ("floor", [FLOOR_PHASES, json.dumps(item_for())])):
            command, cwd = layout.command(args[0], side)
            child = subprocess.run([*command, *args[1:]], cwd=cwd, env=dict(env), capture_output=True,
                                   text=True, check=True)
            for name, seconds in json.loads(child.stdout)["phases"].items():
                found[side].setdefault(name, []).append(seconds)
    return {side: {name: statistics.median(values) for name, values in named.items()}
            for side, named in found.items()}


def _run_child(code: str, argument: str, env: Mapping[str, str], layout: Layout = WORKING_TREE,
               side: str = "app") -> tuple[float, float, float, int]:
    """(seconds from spawn to the answer line, seconds inside the process, the process's CPU seconds from its
    start to its answer, status); shutdown is not counted."""
    command, cwd = layout.command(code, side)
    started = time.perf_counter()
    child = subprocess.Popen([*command, argument], cwd=cwd, env=dict(env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    wall = time.perf_counter() - started
    _, err = child.communicate()
    if child.returncode != 0 or not line:
        raise RuntimeError(f"cold-start child failed ({child.returncode}): {err.strip()[-2000:]}")
    answer = json.loads(line)
    return wall, float(answer["seconds"]), float(answer["cpu"]), int(answer["status"])


def measure(env: Mapping[str, str], event_for: Any, item_for: Any, rounds: int = 10,
            layout: Layout = WORKING_TREE) -> dict[str, Any]:
    """Alternate app and floor children `rounds` times each (after one unmeasured pair that warms the disk cache)."""
    results: dict[str, dict[str, list[float]]] = {
        side: {"wall": [], "inside": [], "cpu": []} for side in ("app", "floor")}
    for index in range(rounds + 1):
        order = [("app", APP_CHILD, event_for), ("floor", FLOOR_CHILD, item_for)]
        if index % 2:
            order.reverse()
        for side, code, make_argument in order:
            wall, inside, cpu, status = _run_child(code, json.dumps(make_argument()), env, layout, side)
            expected = 303 if side == "app" else 200
            if status != expected:
                raise RuntimeError(f"cold-start {side} child answered {status}, expected {expected}")
            if index:  # the first pair only warms the page cache and __pycache__
                results[side]["wall"].append(wall)
                results[side]["inside"].append(inside)
                results[side]["cpu"].append(cpu)
    return {side: {kind: statistics.median(values) for kind, values in sides.items()}
            for side, sides in results.items()}


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _self_times(stderr: str) -> dict[str, int]:
    """Module -> microseconds spent in its own top-level code, from `-X importtime` output."""
    times: dict[str, int] = {}
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            times[match.group(4)] = int(match.group(1))
    return times


def _write_top(path: Path, stderr: str, top: int = 40) -> None:
    """The app's top import-time offenders, by own time and by cumulative time, for reading at a glance."""
    rows = [(int(m.group(1)), int(m.group(2)), m.group(4))
            for m in map(_IMPORTTIME.match, stderr.splitlines()) if m]
    lines = ["own ms  cumulative ms  module (by own time)"]
    lines += [f"{own / 1000:6.1f}  {cumulative / 1000:13.1f}  {name}" for own, cumulative, name in
              sorted(rows, key=lambda row: -row[0])[:top]]
    lines += ["", "own ms  cumulative ms  module (by cumulative time)"]
    lines += [f"{own / 1000:6.1f}  {cumulative / 1000:13.1f}  {name}" for own, cumulative, name in
              sorted(rows, key=lambda row: -row[1])[:top]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def importtime_report(env: Mapping[str, str], event: Any, item: Any, out: Path, top: int = 10,
                      layout: Layout = WORKING_TREE) -> list[str]:
    """`-X importtime` of both cold starts, written next to `out`; lines saying where the app's extra time goes."""
    outputs: dict[str, dict[str, int]] = {}
    for side, code, argument in (("app", APP_CHILD, event), ("floor", FLOOR_CHILD, item)):
        command, cwd = layout.command(code, side, "-X", "importtime")
        child = subprocess.run([*command, json.dumps(argument)], cwd=cwd, env=dict(env), capture_output=True,
                               text=True, check=True)
        path = out if side == "app" else out.with_name(out.stem.replace("app", "floor") + out.suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(child.stderr, encoding="utf-8")
        outputs[side] = _self_times(child.stderr)
    _write_top(out.with_name(out.stem + "-top" + out.suffix), out.read_text(encoding="utf-8"))
    app, floor = outputs["app"], outputs["floor"]
    only_app: dict[str, int] = {}
    for module, micros in app.items():
        if module not in floor:
            package = module if module.startswith("chalicelib") else module.split(".")[0]
            only_app[package] = only_app.get(package, 0) + micros
    lines = [f"imports: app {sum(app.values()) / 1000:.0f} ms, floor {sum(floor.values()) / 1000:.0f} ms; "
             f"modules only the app imports: {sum(only_app.values()) / 1000:.0f} ms, the biggest (own time):"]
    shown = sorted(only_app.items(), key=lambda kv: -kv[1])[:top]
    lines += [f"  {micros / 1000:7.1f} ms  {name}" for name, micros in shown]
    return lines


def main_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The child environment: the parent's, plus Formloop's settings; no PYTHON* overrides that skew imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["AWS_LAMBDA_FUNCTION_NAME"] = "formloop-bench"  # set by Lambda in every function's environment
    env.update(extra)
    return env
