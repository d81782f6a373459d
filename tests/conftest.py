"""Shared fixtures: one real DynamoDB Local per test run, fresh tables, the Chalice test client."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from formloop_cli import dynamodb_local
from tests import packaged
from tests.written_tables import WrittenTables

ROOT = Path(__file__).resolve().parent.parent
GIVEN_ENDPOINT = "FORMLOOP_TEST_DYNAMODB_ENDPOINT"
# The tiers that need DynamoDB Local; a run of the unit tier alone starts none.
NEEDS_DYNAMODB = (ROOT / "tests" / "integration", ROOT / "tests" / "browser")

# DynamoDB Local accepts any credentials; set them so botocore never looks further.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# The DynamoDB Local this run started at configure, and the folder of its log.
_started: list[tuple[subprocess.Popen[bytes], Path]] = []
_built: list[Path] = []  # the bundle built for parallel workers


def _selects(config: pytest.Config, tiers: tuple[Path, ...]) -> bool:
    """Whether the run's paths take in any of these folders."""
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if any(path == tier or tier in path.parents or path in tier.parents for tier in tiers):
            return True
    return False


def _in_parallel(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and getattr(config.option, "dist", "no") != "no"


def pytest_configure(config: pytest.Config) -> None:
    """Start DynamoDB Local before collecting, so its JVM boots while the tests are imported. Parallel workers
    (pytest-xdist) inherit its endpoint and share it, each with tables of its own; for them, the Lambda bundle is
    built now, before any of them runs a test (tests/packaged.py says why)."""
    if hasattr(config, "workerinput"):
        return
    if _in_parallel(config) and not os.environ.get(packaged.GIVEN_DIR) and _selects(config, NEEDS_DYNAMODB[:1]):
        out = Path(tempfile.mkdtemp(prefix="formloop-package-"))
        _built.append(out)
        os.environ[packaged.GIVEN_DIR] = str(out)
        packaged.build(out)
    if os.environ.get(GIVEN_ENDPOINT) or not _selects(config, NEEDS_DYNAMODB):
        return
    port = dynamodb_local.free_port()
    folder = Path(tempfile.mkdtemp(prefix="formloop-dynamodb-"))
    try:
        process = dynamodb_local.start(port, data_dir=None, log=folder / "dynamodb-local.log")
    except dynamodb_local.LocalSetupError:
        shutil.rmtree(folder, ignore_errors=True)
        return  # the dynamodb_endpoint fixture tries again and fails each test that needs it with the reason
    _started.append((process, folder))
    os.environ[GIVEN_ENDPOINT] = f"http://127.0.0.1:{port}"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the DynamoDB Local this run started, and remove the bundle it built."""
    while _started:
        process, folder = _started.pop()
        dynamodb_local.stop(process)
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(GIVEN_ENDPOINT, None)
    while _built:
        shutil.rmtree(_built.pop(), ignore_errors=True)
        os.environ.pop(packaged.GIVEN_DIR, None)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist's `--dist loadgroup`, each test file runs whole on one worker (its module fixtures set up
    once), and the browser tier on one (one Chromium)."""
    if getattr(config.option, "dist", "no") != "loadgroup":
        return
    for item in items:
        path = item.path.resolve()
        group = "browser" if NEEDS_DYNAMODB[1] in path.parents else path.relative_to(ROOT).as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real DynamoDB Local: FORMLOOP_TEST_DYNAMODB_ENDPOINT if set (or started at configure), else one
    started now for this session."""
    given = os.environ.get(GIVEN_ENDPOINT)
    if given:
        dynamodb_local.wait_ready(given, _started[0][0] if _started else None)  # a worker waits for its boot too
        yield given
        return
    with dynamodb_local.running(tmp_path_factory.mktemp("dynamodb") / "dynamodb-local.log") as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def settings(dynamodb_endpoint: str):  # type: ignore[no-untyped-def]
    from chalicelib.core.config import Settings
    return Settings.from_environ({
        "FORMLOOP_DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "FORMLOOP_TABLE_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "FORMLOOP_FORMS_DIR": str(ROOT / "forms"),
        "FORMLOOP_STORAGE_RETRIES": "2",
    })


@pytest.fixture(scope="session")
def written_tables() -> Iterator[WrittenTables]:
    """Which tables were written since the `services` fixture last emptied them."""
    watching = WrittenTables()
    watching.install()
    try:
        yield watching
    finally:
        watching.uninstall()


@pytest.fixture(scope="session")
def session_services(settings, written_tables):  # type: ignore[no-untyped-def]
    from chalicelib.wiring import build_services
    built = build_services(settings)
    built.create_tables()
    return built


def _truncate(model) -> None:  # type: ignore[no-untyped-def]
    with model.batch_write() as batch:
        for item in model.scan(consistent_read=True):
            batch.delete(item)


@pytest.fixture(scope="session")
def _truncating() -> Iterator[ThreadPoolExecutor]:
    # A scan is one request of about 10 ms to DynamoDB Local, which answers several at once.
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="truncate") as pool:
        yield pool


@pytest.fixture
def services(session_services, written_tables, _truncating):  # type: ignore[no-untyped-def]
    """The session's services over empty tables (those written since the last test are emptied)."""
    written = written_tables.take()
    models = [model for store in session_services.stores for model in store.models
              if written is None or model.Meta.table_name in written]
    list(_truncating.map(_truncate, models))  # list(): re-raises the first failure
    return session_services


@pytest.fixture
def client(services):  # type: ignore[no-untyped-def]
    """chalice.test.Client over app.py, wired to the test tables."""
    from chalice.test import Client

    import app as app_module
    app_module.use_services(services)
    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client
    app_module.use_services(None)


@pytest.fixture
def admin(services):  # type: ignore[no-untyped-def]
    """Configure the test admin key (tests.integration.admin_support.KEY) for the test's duration."""
    from chalicelib.core.keys import AdminAuth, hash_key
    from tests.integration.admin_support import KEY
    original = services.admin
    services.admin = AdminAuth([hash_key(KEY)])
    yield
    services.admin = original


@pytest.fixture
def forms_open_to_any_site(services, tmp_path):  # type: ignore[no-untyped-def]
    """The shipped forms without allowedOrigins (they list the example site): each takes posts from any site."""
    import json

    from chalicelib.forms.definitions import FormRegistry
    for path in services.settings.forms_dir.glob("*.json"):
        definition = json.loads(path.read_text())
        definition["x-form"].pop("allowedOrigins", None)
        (tmp_path / path.name).write_text(json.dumps(definition))
    original = services.forms
    services.forms = services.submissions.forms = FormRegistry(tmp_path)
    yield
    services.forms = services.submissions.forms = original


@pytest.fixture
def shop_only_contact(services, tmp_path):  # type: ignore[no-untyped-def]
    """The contact form, accepting posts only from https://shop.example.com (allowedOrigins)."""
    import json

    from chalicelib.forms.definitions import FormRegistry
    definition = json.loads((services.settings.forms_dir / "contact.json").read_text())
    definition["x-form"]["allowedOrigins"] = ["https://shop.example.com"]
    (tmp_path / "contact.json").write_text(json.dumps(definition))
    original = services.forms
    services.forms = services.submissions.forms = FormRegistry(tmp_path)
    yield
    services.forms = services.submissions.forms = original


@pytest.fixture(scope="module")
def provider():  # type: ignore[no-untyped-def]
    """A local CAPTCHA siteverify server that answers as the providers document (tests/captcha_provider.py)."""
    from tests.captcha_provider import running_provider
    with running_provider() as running:
        yield running
