"""The local path as the README tells it: overrides reach the server and the worker, a second `formloop run` says
Formloop already runs, broken definitions show at start, and an edited definition is used on the next request."""
from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from chalicelib.forms.definitions import FormRegistry
from formloop_cli import run_local

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_stage_leaves_the_ports_to_formloop_run() -> None:
    # `chalice local` copies the stage's variables over the process's: any port there would beat the overrides.
    local = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["local"]["environment_variables"]
    assert "FORMLOOP_DYNAMODB_ENDPOINT" not in local and "FORMLOOP_ADMIN_BASE_URL" not in local


def test_a_taken_port_is_named_and_free_ports_pass() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        with socket.socket() as spare:
            spare.bind(("127.0.0.1", 0))
            free = spare.getsockname()[1]  # bound, not listening: nobody answers there
            assert run_local.taken_ports("127.0.0.1", taken, free) == [f"port {taken} on 127.0.0.1 is in use (the app)"]
            assert run_local.taken_ports("127.0.0.1", free, taken) == [
                f"port {taken} on 127.0.0.1 is in use (DynamoDB Local)"]
            assert run_local.taken_ports("127.0.0.1", free, free) == []


def test_a_second_run_says_formloop_already_runs_instead_of_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("FORMLOOP_PORT", str(listener.getsockname()[1]))
        monkeypatch.setenv("FORMLOOP_HOST", "127.0.0.1")
        assert run_local.main([]) == 1
    err = capsys.readouterr().err
    assert "is in use (the app)" in err and "Formloop probably runs already" in err and "Traceback" not in err


def test_broken_definitions_are_reported_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ROOT / "forms" / "contact.json", tmp_path / "contact.json")
    (tmp_path / "broken.json").write_text('{"type": "object", "properties": {"a": {"type": "strin"}}}')
    assert run_local.report_definitions(tmp_path) == 1
    assert "broken.json" in capsys.readouterr().err


def test_an_edited_definition_is_used_on_the_next_request_and_a_removed_one_is_gone(tmp_path: Path) -> None:
    definition = json.loads((ROOT / "forms" / "contact.json").read_text())
    path = tmp_path / "contact.json"
    path.write_text(json.dumps(definition))
    forms = FormRegistry(tmp_path, watch=True)
    first = forms.get("contact")
    assert first is not None and first.schema["title"] == definition["title"]
    assert forms.get("contact") is first  # unchanged file: no second load
    path.write_text(json.dumps({**definition, "title": "Write to us, now with a longer title"}))
    edited = forms.get("contact")
    assert edited is not None and edited.schema["title"] == "Write to us, now with a longer title"
    path.unlink()
    assert forms.get("contact") is None


def test_deployed_definitions_are_read_once(tmp_path: Path) -> None:
    path = tmp_path / "contact.json"
    shutil.copy(ROOT / "forms" / "contact.json", path)
    forms = FormRegistry(tmp_path)  # not watching: in Lambda the files never change
    first = forms.get("contact")
    path.unlink()
    assert forms.get("contact") is first
