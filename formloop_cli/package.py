"""Build the Lambda bundle and the SAM template: `formloop package OUT_DIR` (make package).

`chalice package` ships only app.py, chalicelib/ and vendor/, so the checked definitions in forms/
are copied to chalicelib/bundled/forms for the duration of the packaging, then removed again so that
local runs keep reading forms/ directly.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from chalicelib.core.config import BUNDLED_FORMS_DIR
from chalicelib.core.config import PROJECT_ROOT as ROOT
from chalicelib.forms.definitions import CHECKED_MANIFEST, COMPILED_CHECKS_SUFFIX, check_folder, seal_folder


def bundle_forms(source: Path = ROOT / "forms", target: Path = BUNDLED_FORMS_DIR) -> int:
    """Copy definitions (and templates, gift campaigns) into chalicelib, check the copies and record their
    SHA-256 (so a cold start need not check them again); the number of forms."""
    errors = check_folder(source)
    if not errors:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*~", ".*", CHECKED_MANIFEST,
                                                                   f"*{COMPILED_CHECKS_SUFFIX}"))
        errors = seal_folder(target)  # the copies, byte for byte, are what the manifest vouches for
    if errors:
        shutil.rmtree(target, ignore_errors=True)
        raise SystemExit("refusing to package broken definitions:\n" + "\n".join(f"  {e}" for e in errors))
    return len(list(target.glob("*.json")))


# The Lambda Python runtime ships boto3 and these dependencies of it; bundling them again only adds
# ~15 MB to every cold start's download and unzip.
RUNTIME_PROVIDED = ("botocore", "urllib3", "jmespath", "dateutil", "six", "s3transfer", "boto3")
# Installed but never imported: dnspython serves only email_validator's deliverability check, which Formloop
# turns off (email_validator imports it only inside that check), so it is left out of the bundle: 0.3 MB zipped.
NEVER_IMPORTED = ("dns",)
LAMBDA_PYTHON = (3, 13)  # the functions' runtime, python3.13: Chalice takes it from the Python that packages


def _runtime_provided(name: str) -> bool:
    """Whether a bundle entry is left out: the runtime provides it, or nothing ever imports it."""
    top = name.split("/")[0]
    versioned = top.endswith((".dist-info", ".data"))
    package = top.split("-")[0].replace("python_", "") if versioned else top.removesuffix(".py")
    return package in RUNTIME_PROVIDED or top in NEVER_IMPORTED or (versioned and package == "dnspython")


def compile_bundle(folder: Path) -> int:
    """Compile every module under `folder` as Lambda will import it; the number of .pyc files written.

    Lambda's /var/task is read-only, so Python never caches bytecode there: a bundle without .pyc files compiles
    every module it imports on every cold start. Unchecked-hash .pyc files are used as they are (no source
    timestamp to compare, which a zip's 1980 dates would defeat), compiled by this Python 3.13, the runtime's
    version; tracebacks name /var/task paths.
    """
    import compileall
    import py_compile
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise SystemExit(f"bytecode for python{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]} needs that Python to compile it, "
                         f"not {sys.version.split()[0]} (make package uses the project's .venv)")
    skip = re.compile("|".join(rf"^{re.escape(str(folder))}/{name}/" for name in NEVER_IMPORTED))
    compileall.compile_dir(str(folder), quiet=1, workers=1, stripdir=str(folder), prependdir="/var/task", rx=skip,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return sum(1 for _ in folder.rglob("*.pyc"))


def finish_bundle(zip_path: Path) -> tuple[int, int]:
    """Drop what the runtime provides and any stale bytecode, then ship fresh bytecode; (bytes saved, .pyc files)."""
    before = zip_path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="formloop-bundle-") as work:
        folder = Path(work)
        with zipfile.ZipFile(zip_path) as source:
            for item in source.infolist():
                stale = "__pycache__/" in item.filename or item.filename.endswith(".pyc")
                # Dependencies' own test suites (jsonschema, referencing) are never imported in Lambda.
                tests = not item.filename.startswith("chalicelib/") and "/tests/" in item.filename
                # Catalogues ship compiled (.mo): without their sources a bundle never tries to compile one.
                sources = item.filename.startswith("chalicelib/locales/") and item.filename.endswith((".po", ".pot"))
                if not stale and not tests and not sources and not _runtime_provided(item.filename):
                    source.extract(item, folder)
                    mode = item.external_attr >> 16
                    if mode and not item.is_dir():
                        (folder / item.filename).chmod(mode & 0o777 or 0o644)
        compiled = compile_bundle(folder)
        leaner = zip_path.with_suffix(".lean.zip")
        with zipfile.ZipFile(leaner, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                target.write(path, path.relative_to(folder).as_posix())
        leaner.replace(zip_path)
    return before - zip_path.stat().st_size, compiled


def main(argv: list[str]) -> int:
    """Check, bundle and package into argv[0] (default build/package); the exit code."""
    if argv and argv[0] in ("-h", "--help"):
        print("usage: formloop package [OUT_DIR]  (default: build/package)")
        return 0
    out = Path(argv[0]) if argv else ROOT / "build" / "package"
    if subprocess.run([sys.executable, "-m", "formloop_cli", "infra", "--check"], cwd=ROOT).returncode:
        return 1
    count = bundle_forms()
    print(f"bundled {count} form definitions into {BUNDLED_FORMS_DIR.relative_to(ROOT)}")
    from chalicelib.mail.content import BUNDLED_EMAILS_DIR, build_bundle
    emails = build_bundle(ROOT / "forms" / "templates")
    print(f"compiled {len(emails)} MJML email templates into {BUNDLED_EMAILS_DIR.relative_to(ROOT)}")
    from chalicelib.i18n.catalogue import LOCALES_DIR, compile_all
    catalogues = compile_all()
    print(f"compiled {len(catalogues)} message catalogues into {LOCALES_DIR.relative_to(ROOT)}")
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    try:
        result = subprocess.run([str(chalice), "package", "--stage", "prod", "--merge-template",
                                 "infra/resources.json", str(out)], cwd=ROOT, env=env)
    finally:
        shutil.rmtree(BUNDLED_FORMS_DIR, ignore_errors=True)
    if result.returncode == 0:
        saved, compiled = finish_bundle(out / "deployment.zip")
        print(f"removed {saved / 1e6:.1f} MB net: what the Lambda runtime provides (boto3, botocore and their "
              f"dependencies) out, {compiled} compiled modules (.pyc, unchecked-hash) in")
        print(f"bundle size: {(out / 'deployment.zip').stat().st_size / 1e6:.2f} MB")
        print(f"deployment package and SAM template in {out}")
    return result.returncode

