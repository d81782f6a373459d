"""Admin and dashboard posts of a type a route does not take: Formloop's 415 naming the types to send (problem+json
for the admin API, a page for a browser's form post), never Chalice's bare one, never a 5xx."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

import app as app_module
from chalicelib.core.config import Settings
from chalicelib.routes.media import ANY_TYPE, refusal
from chalicelib.routes.openapi import served_routes
from chalicelib.wiring import MemoryStores, build_memory_services

ROOT = Path(__file__).resolve().parents[2]


# The blueprints signed in with the dashboard's session cookie, whose forms a browser posts; every other POST under
# /admin, whichever blueprint registers it, is the admin API (bearer keys, JSON).
DASHBOARD_MODULES = ("chalicelib.routes.dashboard", "chalicelib.routes.results_pages")


def admin_posts() -> list[tuple[str, str]]:
    """(path, module of its view) of every POST under /admin the app serves, from any blueprint."""
    return sorted((path, methods["POST"].view_function.__module__) for path, methods in app_module.app.routes.items()
                  if "POST" in methods and (path == "/admin" or path.startswith("/admin/")))


ADMIN_API = [path for path, module in admin_posts() if module not in DASHBOARD_MODULES]
DASHBOARD = [path for path, module in admin_posts() if module in DASHBOARD_MODULES]
PARAMETERS = {"{campaign}": "spring", "{form_id}": "contact", "{submission_id}": "s1", "{target}": "crm",
              "{event_id}": "e1"}


def concrete(path: str) -> str:
    """The path with its parameters filled in (their values do not matter here)."""
    for name, value in PARAMETERS.items():
        path = path.replace(name, value)
    assert "{" not in path, f"{path}: give its parameter a value in PARAMETERS"
    return path


def accepted(path: str) -> list[str]:
    """What the route's own check takes."""
    return list(app_module.app.routes[path]["POST"].view_function.accepted_types)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    app_module.use_services(build_memory_services(
        Settings.from_environ({"FORMLOOP_FORMS_DIR": str(ROOT / "forms")}), MemoryStores()))
    with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client
    app_module.use_services(None)


def post(client: Client, path: str, content_type: str | None, **headers: str) -> Any:
    sent = {**headers, **({"Content-Type": content_type} if content_type is not None else {})}
    return client.http.post(concrete(path), headers=sent, body=b"<csrf>x</csrf>")


def test_every_admin_post_lets_each_type_reach_formloop() -> None:
    assert len(ADMIN_API) >= 7 and len(DASHBOARD) >= 9
    assert {"/admin/forms/{form_id}/webhooks/{target}/events/{event_id}/retry",
            "/admin/forms/{form_id}/webhooks/{target}/replay"} <= set(ADMIN_API)
    for path in ADMIN_API + DASHBOARD:
        assert app_module.app.routes[path]["POST"].content_types == ANY_TYPE, path
        assert accepted(path), f"{path}: decorate the view with routes.media.takes(...)"


@pytest.mark.parametrize("path", ADMIN_API)
def test_the_admin_api_answers_an_unlisted_type_with_a_problem_naming_the_types(client: Client, path: str) -> None:
    response = post(client, path, "application/xml", Accept="text/html")
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.body)
    assert problem["status"] == 415 and problem["title"] == "Unsupported media type"
    assert problem["detail"] == ("Content-Type 'application/xml' is not accepted here; send one of: "
                                 + ", ".join(accepted(path)) + ".")


@pytest.mark.parametrize("path", DASHBOARD)
def test_a_dashboard_form_post_of_an_unlisted_type_gets_a_page_saying_what_to_send(client: Client,
                                                                                     path: str) -> None:
    response = post(client, path, "text/plain", Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 415
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert "Unsupported media type" in page
    assert "Content-Type &#39;text/plain&#39; is not accepted here; send one of: " \
           "application/x-www-form-urlencoded." in page


@pytest.mark.parametrize("path", DASHBOARD)
def test_a_script_posting_json_to_the_dashboard_gets_a_problem(client: Client, path: str) -> None:
    response = post(client, path, "application/json", Accept="application/json")
    assert (response.status_code, response.headers["Content-Type"]) == (415, "application/problem+json")
    assert "send one of: application/x-www-form-urlencoded" in json.loads(response.body)["detail"]


@pytest.mark.parametrize("content_type", [";;;", "text/html, application/json", "\u0444/\u0444", "x" * 5000,
                                          "multipart/form-data; boundary=\"unterminated"])
@pytest.mark.parametrize("path", ["/admin/addresses/export", "/admin/sign-in", "/admin/gifts/{campaign}/codes"])
def test_a_hostile_content_type_is_a_415_never_a_5xx(client: Client, path: str, content_type: str) -> None:
    response = post(client, path, content_type.encode("utf-8").decode("latin-1"), Accept="application/json")
    assert response.status_code == 415
    assert "send one of: " in json.loads(response.body)["detail"]


@pytest.mark.parametrize("path, content_type", [
    ("/admin/addresses/export", "application/json"),
    ("/admin/addresses/export", None),  # Chalice reads no Content-Type as JSON; so does Formloop's check
    ("/admin/gifts/redeem", "text/plain; charset=utf-8"),
    ("/admin/gifts/{campaign}/codes", "text/csv"),
    ("/admin/forms/{form_id}/webhooks/{target}/replay", "application/json"),
    ("/admin/forms/{form_id}/webhooks/{target}/events/{event_id}/retry", "application/x-www-form-urlencoded"),
    ("/admin/sign-in", "application/x-www-form-urlencoded; charset=UTF-8"),
    ("/admin/cases/{form_id}/{submission_id}/status", "application/x-www-form-urlencoded"),
])
def test_a_listed_type_reaches_the_route(client: Client, path: str, content_type: str | None) -> None:
    # Refused further on (no admin key, no CSRF token), but not for its type.
    assert post(client, path, content_type, Accept="application/json").status_code in (401, 403, 404)


def test_the_openapi_document_lists_what_each_route_takes_not_the_wildcard() -> None:
    routes = served_routes(app_module.app)
    assert routes["/admin/sign-in"]["POST"] == ["application/x-www-form-urlencoded"]
    assert routes["/admin/addresses/erase"]["POST"] == ["application/x-www-form-urlencoded", "application/json"]
    assert routes["/f/{form_id}"]["POST"] == ["*/*"]


def test_a_listed_type_with_parameters_is_taken_and_an_unlabelled_body_is_json() -> None:
    assert refusal("Application/JSON; charset=utf-8", ("application/json",)) is None
    assert refusal(None, ("application/json",)) is None
    refused = refusal(None, ("application/x-www-form-urlencoded",))
    assert refused is not None and "Content-Type 'application/json' is not accepted" in refused.message
