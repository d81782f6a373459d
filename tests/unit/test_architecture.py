"""The dependency rule of docs/architecture.md, enforced: every import of every module, read from its source.

Imports inside functions and under `if TYPE_CHECKING:` count too: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "chalicelib"
# The capability packages: what a request's work is made of, with no framework and no database in them.
DOMAIN = ("core", "forms", "intake", "reporting", "privacy", "mail", "gifts", "pages", "cases", "webhooks", "i18n")


def _modules() -> list[Path]:
    return sorted(p for p in LIB.rglob("*.py") if "bundled" not in p.parts) + [ROOT / "app.py"]


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute, with each parent package ("a.b.c" also gives "a.b" and "a")."""
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


IMPORTS = {_name(path): _imports(path) for path in _modules()}


def _offenders(allowed: str | tuple[str, ...], forbidden: str) -> list[str]:
    """Modules outside `allowed` (a module or package prefix) that import `forbidden`."""
    prefixes = (allowed,) if isinstance(allowed, str) else allowed
    return sorted(module for module, imported in IMPORTS.items()
                  if forbidden in imported and not any(module == p or module.startswith(p + ".") for p in prefixes))


def test_the_rule_reads_every_module() -> None:
    assert {"app", "chalicelib.wiring", "chalicelib.routes.edge", "chalicelib.storage.submission_tables",
            "chalicelib.intake.service", "chalicelib.mail.transport"} <= set(IMPORTS)
    assert "pynamodb" in IMPORTS["chalicelib.storage.submission_tables"]  # the reader sees what it should refuse
    assert "chalice" in IMPORTS["app"]


def test_only_storage_imports_pynamodb() -> None:
    assert _offenders("chalicelib.storage", "pynamodb") == []


def test_only_the_mail_transport_and_storage_import_aws_clients() -> None:
    for client in ("boto3", "botocore"):
        assert _offenders(("chalicelib.storage", "chalicelib.mail.transport"), client) == [], client


def test_only_routes_and_app_import_chalice() -> None:
    assert _offenders(("chalicelib.routes", "app"), "chalice") == []


def test_no_module_but_app_imports_the_routes() -> None:
    assert _offenders(("chalicelib.routes", "app"), "chalicelib.routes") == []


@pytest.mark.parametrize("package", DOMAIN)
def test_the_domain_imports_no_storage_wiring_or_edge(package: str) -> None:
    for outer in ("chalicelib.storage", "chalicelib.wiring", "chalicelib.jobs", "chalicelib.routes"):
        offenders = [m for m in _offenders((), outer) if m.startswith(f"chalicelib.{package}.")
                     or m == f"chalicelib.{package}"]
        assert offenders == [], f"{offenders} import {outer}"


def test_core_depends_on_no_capability() -> None:
    for module, imported in IMPORTS.items():
        if module.startswith("chalicelib.core"):
            others = {name for name in imported if name.startswith("chalicelib.")
                      and not name.startswith("chalicelib.core") and name != "chalicelib"}
            assert others == set(), f"{module} imports {others}"


def test_storage_serves_the_domain_and_never_calls_up() -> None:
    for outer in ("chalicelib.routes", "chalicelib.wiring", "chalicelib.jobs"):
        assert [m for m in _offenders((), outer) if m.startswith("chalicelib.storage")] == []


def test_rendering_an_email_loads_no_database_code() -> None:
    probe = ("import sys, datetime\n"
             "from pathlib import Path\n"
             "from chalicelib.core.submission import Submission\n"
             "from chalicelib.forms.definitions import FormRegistry\n"
             "from chalicelib.mail.content import EmailTemplates, render_acknowledgement\n"
             "forms = FormRegistry(Path('forms'))\n"
             "definition = forms.get('contact')\n"
             "definition.settings['acknowledgement'] = {'echo': True}  # the recap repeats the name\n"
             "submission = Submission(form='contact', id='01J0000000000000000000000A',\n"
             "    created_at=datetime.datetime.now(datetime.UTC), status='received',\n"
             "    answers={'name': 'Ann', 'email': 'ann@example.com', 'message': 'Hello'},\n"
             "    language='en', respondent_email='ann@example.com')\n"
             "email = render_acknowledgement(EmailTemplates(Path('forms/templates')), definition, submission, {})\n"
             "assert email is not None and 'Ann' in email.html, email\n"
             "heavy = ('pynamodb', 'boto3', 'botocore', 'chalice')\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_clock_is_read_in_one_place() -> None:
    """Services take a `Clock` (tests move it); only `core/clock.py` asks the system for the time of day."""
    readers = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("now", "utcnow")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "datetime"):
                readers.append(f"{_name(path)}:{node.lineno}")
    assert [reader.partition(":")[0] for reader in readers] == ["chalicelib.core.clock"], readers
