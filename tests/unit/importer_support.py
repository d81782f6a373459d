"""What the importer tests share: import into a temporary forms folder, then post as a browser would."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib.core.config import Settings
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import check_folder
from chalicelib.intake.service import SubmitOutcome, SubmitRequest
from chalicelib.wiring import MemoryStores, Services, build_memory_services
from formloop_cli.importing import ImportReport, write_definition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importers"
FORM_POST = {"content-type": "application/x-www-form-urlencoded"}


def write_checked(definition: dict[str, Any], form_id: str, report: ImportReport, forms_dir: Path) -> dict[str, Any]:
    """Write the definition as the command does, prove Formloop's own check passes, and read it back."""
    assert write_definition(definition, form_id, forms_dir, force=False, report=report, out=io.StringIO()) == 0
    assert check_folder(forms_dir) == []
    written: dict[str, Any] = json.loads((forms_dir / f"{form_id}.json").read_text(encoding="utf-8"))
    return written


def services_for(forms_dir: Path) -> Services:
    """Formloop's services on in-memory stores, serving the definitions in `forms_dir`."""
    return build_memory_services(Settings.from_environ({"FORMLOOP_FORMS_DIR": str(forms_dir)}), MemoryStores())


def post_form(services: Services, form_id: str, pairs: list[tuple[str, str]]) -> SubmitOutcome:
    """Post the fields as a browser does (urlencoded, in document order)."""
    body = urlencode(pairs).encode("utf-8")
    return services.submissions.submit(SubmitRequest(form_id, body, FORM_POST, "203.0.113.9"))


def post_json(services: Services, form_id: str, answers: dict[str, Any]) -> SubmitOutcome:
    """Post the answers as a script does (JSON)."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    return services.submissions.submit(SubmitRequest(form_id, json.dumps(answers).encode(), headers, "203.0.113.9"))


def stored(services: Services, outcome: SubmitOutcome) -> Submission:
    """The submission a post stored."""
    submission = services.store.get(outcome.form.id, outcome.submission_id)
    assert submission is not None
    return submission
