"""The `formloop` command: one entry point dispatching to each command's module."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from formloop_cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in COMMANDS)


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["deploy"]) == 2
    assert "unknown command 'deploy'" in capsys.readouterr().err


def test_arguments_reach_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-forms", str(ROOT / "forms")]) == 0
    assert "definitions OK" in capsys.readouterr().out
    assert main(["gifts", "unknown-subcommand"]) == 2
    assert "usage: formloop gifts" in capsys.readouterr().err


def test_every_command_module_has_a_main() -> None:
    import importlib
    for command in COMMANDS.values():
        assert callable(importlib.import_module(command.module).main), command.module


def test_the_command_is_installed_and_runs_from_anywhere(tmp_path: Path) -> None:
    formloop = Path(sys.executable).parent / "formloop"
    done = subprocess.run([str(formloop), "check-forms", str(ROOT / "forms")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_nothing_of_the_command_line_ships_in_chalicelib() -> None:
    sources = "\n".join(path.read_text() for path in (ROOT / "chalicelib").rglob("*.py"))
    assert "formloop_cli" not in sources and 'if __name__ == "__main__"' not in sources
