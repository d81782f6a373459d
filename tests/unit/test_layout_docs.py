"""README's layout and docs/architecture.md name every package of chalicelib/: a newcomer's map has no holes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(path.parent.name for path in (ROOT / "chalicelib").glob("*/__init__.py"))
ROUTE_MODULES = sorted(path.stem for path in (ROOT / "chalicelib" / "routes").glob("*.py") if path.stem != "__init__")


def _layout(text: str, heading: str) -> str:
    """The first fenced block after `heading`."""
    after = text[text.index(heading):]
    return after.split("```")[1]


def test_there_are_packages_to_name() -> None:
    assert {"core", "routes", "storage", "intake", "cases"} <= set(PACKAGES)


@pytest.mark.parametrize(("document", "heading"),
                         [("README.md", "## Layout"), ("docs/architecture.md", "# Architecture")])
def test_the_layout_names_every_package(document: str, heading: str) -> None:
    layout = _layout((ROOT / document).read_text(encoding="utf-8"), heading)
    named = set(re.findall(r"(?:^|\s)([a-z0-9_]+)/(?=\s)", layout))
    assert set(PACKAGES) - named == set(), f"{document}'s layout misses these packages"


def test_architecture_has_a_paragraph_per_package() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^\*\*`([a-z0-9_]+)/`\*\*", text, flags=re.MULTILINE))
    assert set(PACKAGES) - described == set()


def test_architecture_names_every_route_module() -> None:
    layout = _layout((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"), "# Architecture")
    assert [module for module in ROUTE_MODULES if f"{module}.py" not in layout] == []
