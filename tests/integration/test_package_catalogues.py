"""The Lambda bundle carries the compiled catalogues (not their sources) and reads them without Babel, which is a
build tool."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from chalicelib.i18n.catalogue import LANGUAGES

# Unpacked read-only, as Lambda's /var/task: no Babel, no compiling; a Hindi error page from the bundle alone.
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from chalicelib.core.errors import NotFoundError
from chalicelib.pages.rendering import render_error
page = render_error(NotFoundError("No such form."), "hi")
print("नहीं मिला" in page, any(m.split(".")[0] == "babel" for m in sys.modules))
"""


def test_the_bundle_carries_a_compiled_catalogue_per_language_and_no_babel(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as bundle:
        names = set(bundle.namelist())
        bundle.extractall(tmp_path / "task")
    for language in LANGUAGES:
        assert f"chalicelib/locales/{language}/LC_MESSAGES/formloop.mo" in names
    assert not any(name.startswith("babel/") or name.endswith((".po", ".pot")) for name in names)
    for path in sorted((tmp_path / "task").rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    child = subprocess.run([sys.executable, "-I", "-B", "-c", CHILD, str(tmp_path / "task")],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["True", "False"]
