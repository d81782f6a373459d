"""`formloop package`, as `make package` runs it, for the integration tests that read the Lambda bundle.

While it builds, `formloop package` copies the definitions into chalicelib/bundled/, where every process reading
the default forms folder would see them: so under pytest-xdist it runs once, before the workers start, rather than
in one worker beside another's tests. Its outcome is kept beside the output for the fixture to report.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTCOME = "formloop-package-outcome.json"
# Where the package built before the workers started is, for the workers to read.
GIVEN_DIR = "FORMLOOP_TEST_PACKAGE_DIR"


def build(out: Path) -> None:
    """Package into `out` and record there whether it worked and what it printed."""
    result = subprocess.run([sys.executable, "-m", "formloop_cli", "package", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    (out / OUTCOME).write_text(json.dumps({"returncode": result.returncode, "stdout": result.stdout,
                                           "stderr": result.stderr}), encoding="utf-8")


def outcome(out: Path) -> tuple[int, str, str]:
    """The exit code, output and errors of the build into `out`."""
    found = json.loads((out / OUTCOME).read_text(encoding="utf-8"))
    return int(found["returncode"]), str(found["stdout"]), str(found["stderr"])
