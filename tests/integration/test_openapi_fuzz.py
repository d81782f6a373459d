"""Schemathesis against the app over real HTTP (Chalice's local server on the test tables), from the document
GET /openapi.json serves: every operation, with generated paths, queries and bodies (each form's own schema for
its post), answers below 500 and only with a status, a content type and a body the document describes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.forms.definitions import FormRegistry
from chalicelib.pages.openapi import build_document
from chalicelib.routes.openapi import served_routes
from tests.browser.conftest import site  # noqa: F401  (the app served over HTTP, reused as a fixture)
from tests.integration.admin_support import AUTH

ROOT = Path(__file__).resolve().parents[2]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _document() -> dict[str, Any]:
    """What GET /openapi.json serves for the shipped forms (a test below checks the two agree)."""
    import app as app_module
    registry = FormRegistry(ROOT / "forms")
    return build_document(served_routes(app_module.app),
                          {form_id: registry.require(form_id).public_schema() for form_id in registry.ids()})


# Methods a route does not take are tried too, but not TRACE and QUERY: the local server (Python's http.server)
# answers those 501 itself before the app sees them, and API Gateway never passes them on.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {
    "unexpected-methods": ["get", "put", "post", "delete", "options", "patch"]}}})
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


def test_the_fuzzed_document_is_the_one_served(client) -> None:  # type: ignore[no-untyped-def]
    import json
    assert json.loads(client.http.get("/openapi.json").body) == _document()


# About 45 operations: a few examples each keeps the run near a minute on a small machine.
@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
def test_every_answer_is_below_500_and_described(case: Any, site: str, admin: None) -> None:  # noqa: F811
    case.call_and_validate(base_url=site, headers=AUTH, checks=CHECKS, timeout=30)
