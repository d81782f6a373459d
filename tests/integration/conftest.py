"""Fixtures of the integration tests beyond the shared ones: the Lambda bundle, built once per session, and a
local receiver for webhook targets."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.webhooks.receiver import Receiver, running

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`formloop package` output (deployment.zip and sam.json), as `make package` builds it."""
    out = tmp_path_factory.mktemp("package")
    result = subprocess.run([sys.executable, "-m", "formloop_cli", "package", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real local HTTP server that webhook targets point at; what it received, and what it answers next."""
    with running() as started:
        yield started
