"""Answer checks compiled at packaging: a bundle's cold start loads them, and they judge exactly as the checks
compiled on first need (which test_fastcheck.py holds to jsonschema)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from chalicelib.forms.definitions import COMPILED_CHECKS_SUFFIX, FormRegistry, seal_folder
from chalicelib.forms.fastcheck import compile_check, dumps_checks, loads_checks
from tests.unit.test_fastcheck import FORMS_DIR, SHIPPED, _answers


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forms")
    for path in FORMS_DIR.glob("*.json"):
        shutil.copy(path, folder)
    assert seal_folder(folder) == []
    return folder


def test_sealing_writes_each_definitions_checks_beside_it(sealed: Path) -> None:
    assert sorted(p.stem for p in sealed.glob(f"*{COMPILED_CHECKS_SUFFIX}")) == sorted(SHIPPED)
    registry = FormRegistry(sealed)
    for form_id, shipped in SHIPPED.items():
        definition = registry.require(form_id)
        assert definition.shipped_checks is not None
        conditions = {f"visibleIf:{name}" for name in shipped.conditions}
        assert set(definition.shipped_checks) == {"sha256", "validation", *conditions}


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_a_shipped_check_judges_as_one_compiled_on_first_need(sealed: Path, form_id: str) -> None:
    definition = FormRegistry(sealed).require(form_id)
    check, fresh = definition.fast_check, compile_check(definition.validation_schema)
    assert check is not None and fresh is not None
    conditions = {name: compile_check(condition) for name, condition in definition.conditions.items()}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_answers(definition))
    def agree(answers: Any) -> None:
        assert check(answers) == fresh(answers), answers
        for name, compiled in conditions.items():
            assert compiled is not None and definition.shown(name, answers) == compiled(answers), answers

    agree()


def test_checks_another_python_wrote_are_compiled_again(sealed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    shutil.copytree(sealed, folder)
    checks = folder / f"contact{COMPILED_CHECKS_SUFFIX}"
    checks.write_bytes(b"\x00\x00\r\n" + checks.read_bytes()[4:])  # another bytecode magic number
    assert loads_checks(checks.read_bytes()) is None
    definition = FormRegistry(folder).require("contact")
    assert definition.shipped_checks is None
    assert definition.fast_check is not None and definition.fast_check({}) is False


ANSWERED = {"nps": 9, "email": "ann@example.com"}  # a valid customer-survey post that leaves csat out


def test_a_definition_edited_after_sealing_is_not_judged_by_its_old_checks(sealed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    shutil.copytree(sealed, folder)
    path = folder / "customer-survey.json"
    schema = json.loads(path.read_text())
    schema["required"] = [*schema.get("required", []), "csat"]  # now csat must be answered
    path.write_text(json.dumps(schema))
    definition = FormRegistry(folder).require("customer-survey")
    assert definition.shipped_checks is None
    assert definition.fast_check is not None and definition.fast_check(ANSWERED) is False
    assert FormRegistry(sealed).require("customer-survey").fast_check(ANSWERED) is True  # the sealed copy's


def test_a_checks_file_round_trips_with_no_check_for_what_only_jsonschema_reads() -> None:
    assert loads_checks(dumps_checks({"sha256": "x", "validation": None})) == {"sha256": "x", "validation": None}
