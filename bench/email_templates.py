"""`make bench-email`: what one acknowledgement email costs to render, precompiled vs compiled per email.

Measured on the shipped `contact-thanks` template with a 6-answer recap:
  (a) precompiled: the MJML compiled once (as Formloop does), then the Jinja2 template filled per email;
  (b) compiling per email with mrml (Rust), then filling — what Formloop never does;
  (c) compiling per email with the pure-Python `mjml` package, and its import time;
  (d) the email as sent: both parts rendered through EmailTemplates, then the MIME message built.
Medians over many runs; the output is the table in docs/email.md.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormRegistry
from chalicelib.mail.content import (
    EmailTemplates,
    mjml_to_html,
    recap,
    render_acknowledgement,
    to_message,
)

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = ROOT / "forms" / "templates" / "contact-thanks.mjml"


def median_ms(action: Callable[[], object], runs: int) -> float:
    """The median wall time of one call, in milliseconds (after a few warm-up calls)."""
    for _ in range(min(20, runs)):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    from jinja2 import Environment

    forms = FormRegistry(ROOT / "forms")
    definition = forms.get("contact")
    assert definition is not None
    submission = Submission(
        form="contact", id="01JBENCH", created_at=datetime.now(UTC), status="received", language="en",
        answers={"name": "Ann Lee", "email": "ann@example.com", "topic": "complaint", "phone": "+1 555 0100",
                 "message": "The parcel arrived broken.\nThe box was wet. <b>Please</b> call me.", "consent": True},
        feedback_kind="complaint", respondent_email="ann@example.com")
    source = TEMPLATE.read_text(encoding="utf-8")
    context = {"form_title": definition.title("en"), "intro": "Thank you!", "submission_id": submission.id,
               "recap": recap(definition, submission.answers, "en"), "gift": None, "language": "en",
               "kind": "complaint"}
    environment = Environment(autoescape=True)
    precompiled = environment.from_string(mjml_to_html(source))

    fill = median_ms(lambda: precompiled.render(context), args.runs)
    per_email_mrml = median_ms(lambda: environment.from_string(mjml_to_html(source)).render(context), args.runs)
    mrml_only = median_ms(lambda: mjml_to_html(source), args.runs)

    from mjml import mjml_to_html as python_mjml  # the pure-Python port, for comparison only
    python_runs = max(20, args.runs // 50)
    per_email_python = median_ms(lambda: environment.from_string(python_mjml(source).html).render(context),
                                 python_runs)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mjml"], check=True)
    baseline = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    python_import_ms = ((baseline - started) - (time.perf_counter() - baseline)) * 1000

    with tempfile.TemporaryDirectory() as bundle:
        templates = EmailTemplates(ROOT / "forms" / "templates", bundled_dir=Path(bundle))

        both_parts = median_ms(lambda: render_acknowledgement(templates, definition, submission, {}), args.runs)
        email = render_acknowledgement(templates, definition, submission, {})
        mime = median_ms(lambda: bytes(to_message(email, "Acme <hello@acme.example>", "<01JBENCH@acme.example>")),
                         args.runs)

    rows = [
        ("precompiled template, filled per email (Formloop)", fill),
        ("mrml compile + fill, per email", per_email_mrml),
        ("  of which the mrml compile alone", mrml_only),
        ("pure-Python mjml compile + fill, per email", per_email_python),
        ("acknowledgement, HTML and text parts, precompiled", both_parts),
        ("MIME message built from them (stdlib email package)", mime),
    ]
    print(f"{'what':60} {'median ms':>10}")
    for label, value in rows:
        print(f"{label:60} {value:10.3f}")
    print(f"{'pure-Python mjml: import (fresh process, minus a bare one)':60} {python_import_ms:10.1f}")
    print(f"speed-up of precompiled over mrml per email:   {per_email_mrml / fill:6.0f}x")
    print(f"speed-up of precompiled over pure-Python mjml: {per_email_python / fill:6.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
