"""GET /openapi.json: a valid OpenAPI 3.1 document of every route the app serves, each form's public schema as
the body of its post, problem+json errors, bearer keys for the admin API; built only when asked for."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from chalicelib.pages.openapi import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete", "options", "head")


def _document(client: Any) -> dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)  # type: ignore[no-any-return]


def _served() -> set[tuple[str, str]]:
    import app as app_module
    return {(path, method) for path, methods in app_module.app.routes.items() for method in methods}


def test_the_document_is_valid_openapi_3_1(client) -> None:  # type: ignore[no-untyped-def]
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises with the JSON path of the first problem


def test_every_route_the_app_serves_is_described(client) -> None:  # type: ignore[no-untyped-def]
    document = _document(client)
    served = _served()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item
                  if method in METHODS}
    assert served <= documented, sorted(served - documented)
    # Each route has its own description (summary and answers), and none is kept for a route that is gone.
    where = "describe it in OPERATIONS, chalicelib/pages/openapi.py"
    assert sorted(served - set(OPERATIONS)) == [], where
    assert sorted(set(OPERATIONS) - served) == [], where
    for path, method in served:
        operation = document["paths"][path][method.lower()]
        assert operation["summary"] and operation["responses"], (path, method)


def test_each_forms_post_takes_its_public_schema(client) -> None:  # type: ignore[no-untyped-def]
    document = _document(client)
    for form_id in ("contact", "customer-survey", "product-feedback"):
        served = json.loads(client.http.get(f"/f/{form_id}/schema").body)
        assert document["components"]["schemas"][f"form-{form_id}"] == served
        body = document["paths"][f"/f/{form_id}"]["post"]["requestBody"]["content"]
        assert set(body) == {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
        for media in body.values():
            assert media["schema"] == {"$ref": f"#/components/schemas/form-{form_id}"}
        answers = document["paths"][f"/f/{form_id}"]["post"]["responses"]
        assert {"201", "303", "422"} <= set(answers)


def test_errors_are_problem_documents_and_admin_routes_need_a_bearer_key(client) -> None:  # type: ignore[no-untyped-def]
    document = _document(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An admin key"}
    problem = document["components"]["responses"]["Problem422"]["content"]["application/problem+json"]
    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            bearer = {"bearerAuth": []} in operation.get("security", [])
            api = path.startswith(("/admin/forms/", "/admin/addresses/", "/admin/gifts/"))
            assert bearer == api, (path, method)
            if bearer:
                assert operation["responses"]["401"] == {"$ref": "#/components/responses/Problem401"}


def test_the_document_is_built_only_when_asked_for() -> None:
    # The post path never pays for it: importing the app (a cold start) leaves the builder unloaded.
    probe = "import sys, app; print('chalicelib.pages.openapi' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
