"""Shared fixtures: one real DynamoDB Local per test session, fresh tables, the Chalice test client."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from formloop_cli import dynamodb_local

ROOT = Path(__file__).resolve().parent.parent

# DynamoDB Local accepts any credentials; set them so botocore never looks further.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real DynamoDB Local: FORMLOOP_TEST_DYNAMODB_ENDPOINT if set, else one started for this session."""
    given = os.environ.get("FORMLOOP_TEST_DYNAMODB_ENDPOINT")
    if given:
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
def session_services(settings):  # type: ignore[no-untyped-def]
    from chalicelib.wiring import build_services
    built = build_services(settings)
    built.create_tables()
    return built


def _truncate(model) -> None:  # type: ignore[no-untyped-def]
    with model.batch_write() as batch:
        for item in model.scan(consistent_read=True):
            batch.delete(item)


@pytest.fixture
def services(session_services):  # type: ignore[no-untyped-def]
    """The session's services over empty tables."""
    for store in session_services.stores:
        for model in store.models:
            _truncate(model)
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
