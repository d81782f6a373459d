"""README's route table names every route the app serves (and only those): a new route cannot ship unlisted."""
from __future__ import annotations

import re
from pathlib import Path

import app as app_module
from chalicelib.pages.openapi import OPERATIONS

README = Path(__file__).resolve().parents[2] / "README.md"
# A route is written `METHOD /path`, its parameters named freely (`{form}` for `{form_id}`).
MENTION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE|OPTIONS) (/[^`\s?]*)")


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def route_table(text: str) -> str:
    """The rows of README's `| route | does |` table."""
    lines = text.splitlines()
    start = lines.index("| route | does |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return "\n".join(rows)


def listed() -> set[tuple[str, str]]:
    """(method, path shape) of every route README's table names."""
    return {(method, _shape(path)) for method, path in MENTION.findall(route_table(README.read_text("utf-8")))}


def served() -> set[tuple[str, str]]:
    """(method, path shape) of every route registered on the app."""
    return {(method, _shape(path)) for path, methods in app_module.app.routes.items() for method in methods}


def test_every_route_the_app_serves_is_in_the_readme_table() -> None:
    missing = sorted(served() - listed())
    assert not missing, f"add to README.md's route table: {', '.join(f'{m} {p}' for m, p in missing)}"


def test_every_route_of_the_openapi_document_is_in_the_readme_table() -> None:
    missing = sorted({(method, _shape(path)) for path, method in OPERATIONS} - listed())
    assert not missing, missing


def test_the_readme_table_names_no_route_the_app_does_not_serve() -> None:
    stale = sorted(listed() - served())
    assert not stale, f"README.md lists routes the app does not serve: {stale}"


def test_the_mentions_are_read_from_the_table() -> None:
    table = "| route | does |\n|---|---|\n| `GET /f/{form}`, `POST /g/{gift}` | x `DELETE /a/{id}/b` |\n\n| `GET /no`"
    assert {(m, _shape(p)) for m, p in MENTION.findall(route_table(table))} == {
        ("GET", "/f/{}"), ("POST", "/g/{}"), ("DELETE", "/a/{}/b")}
