"""Fixtures of the integration tests beyond the shared ones: the Lambda bundle, built once per session, and a
local receiver for webhook targets."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import packaged
from tests.unit.webhooks.receiver import Receiver, running

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`formloop package` output (deployment.zip and sam.json), as `make package` builds it; under pytest-xdist,
    the one built before the workers started (tests/conftest.py)."""
    given = os.environ.get(packaged.GIVEN_DIR)
    out = Path(given) if given else tmp_path_factory.mktemp("package")
    if not given:
        packaged.build(out)
    returncode, stdout, stderr = packaged.outcome(out)
    assert returncode == 0, stdout + stderr
    print(stdout)
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real local HTTP server that webhook targets point at; what it received, and what it answers next."""
    with running() as started:
        yield started
