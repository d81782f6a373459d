"""Build the Lambda bundle and the SAM template: `formloop package OUT_DIR` (make package).

`chalice package` ships only app.py, chalicelib/ and vendor/, so the checked definitions in forms/
are copied to chalicelib/bundled/forms for the duration of the packaging, then removed again so that
local runs keep reading forms/ directly.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from chalicelib.core.config import BUNDLED_FORMS_DIR
from chalicelib.core.config import PROJECT_ROOT as ROOT
from chalicelib.forms.definitions import CHECKED_MANIFEST, check_folder, seal_folder

# Only there so `chalice package` registers the stream handler; infra/resources.json replaces it.
STREAM_ARN_PLACEHOLDER = "arn:aws:dynamodb:us-east-1:000000000000:table/formloop-prod-submissions/stream/merged"


def bundle_forms(source: Path = ROOT / "forms", target: Path = BUNDLED_FORMS_DIR) -> int:
    """Copy definitions (and templates, gift campaigns) into chalicelib, check the copies and record their
    SHA-256 (so a cold start need not check them again); the number of forms."""
    errors = check_folder(source)
    if not errors:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*~", ".*", CHECKED_MANIFEST))
        errors = seal_folder(target)  # the copies, byte for byte, are what the manifest vouches for
    if errors:
        shutil.rmtree(target, ignore_errors=True)
        raise SystemExit("refusing to package broken definitions:\n" + "\n".join(f"  {e}" for e in errors))
    return len(list(target.glob("*.json")))


# The Lambda Python runtime ships boto3 and these dependencies of it; bundling them again only adds
# ~15 MB to every cold start's download and unzip.
RUNTIME_PROVIDED = ("botocore", "urllib3", "jmespath", "dateutil", "six", "s3transfer", "boto3")


def strip_runtime_provided(zip_path: Path) -> int:
    """Remove packages the Lambda runtime already provides from the bundle; bytes saved."""
    before = zip_path.stat().st_size
    leaner = zip_path.with_suffix(".lean.zip")
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(leaner, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            top = item.filename.split("/")[0]
            versioned = top.endswith((".dist-info", ".data"))
            name = top.split("-")[0].replace("python_", "") if versioned else top.removesuffix(".py")
            if name in RUNTIME_PROVIDED:
                continue
            target.writestr(item, source.read(item.filename))
    leaner.replace(zip_path)
    return before - zip_path.stat().st_size


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
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    # Registers app.on_submission_stored; infra/resources.json swaps in the real stream (Fn::GetAtt).
    env.setdefault("FORMLOOP_SUBMISSIONS_STREAM_ARN", STREAM_ARN_PLACEHOLDER)
    try:
        result = subprocess.run([str(chalice), "package", "--stage", "prod", "--merge-template",
                                 "infra/resources.json", str(out)], cwd=ROOT, env=env)
    finally:
        shutil.rmtree(BUNDLED_FORMS_DIR, ignore_errors=True)
    if result.returncode == 0:
        saved = strip_runtime_provided(out / "deployment.zip")
        print(f"removed {saved / 1e6:.1f} MB the Lambda runtime provides (boto3, botocore and their dependencies)")
        print(f"deployment package and SAM template in {out}")
    return result.returncode

