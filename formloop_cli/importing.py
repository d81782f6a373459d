"""What both importers share: the report of guesses and gaps, form ids, the definition check and the write."""
from __future__ import annotations

import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from chalicelib.core.errors import DefinitionError
from chalicelib.forms.definitions import FORM_ID, compile_definition

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


@dataclass(frozen=True)
class Guess:
    """One question the importer made: its name, its type, whether it is required, and why."""

    name: str
    type: str
    required: bool
    why: str


@dataclass(frozen=True)
class Gap:
    """Something the importer could not convert: where, what, and why."""

    name: str
    what: str
    why: str


@dataclass
class ImportReport:
    """Everything an import found: its guesses, its gaps and free notes (e.g. which form was taken)."""

    guesses: list[Guess] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def guess(self, name: str, type_: str, required: bool, why: str) -> None:
        """Record a question and the reason it got its type."""
        self.guesses.append(Guess(name, type_, required, why))

    def gap(self, name: str, what: str, why: str) -> None:
        """Record something not converted."""
        self.gaps.append(Gap(name, what, why))

    def print(self, out: TextIO) -> None:
        """The report as a person reads it (control characters from the imported file shown as '?')."""
        lines = list(self.notes)
        if self.guesses:
            lines.append("questions:")
            width = max(len(g.name) for g in self.guesses)
            for g in self.guesses:
                flag = "required" if g.required else "optional"
                lines.append(f"  {g.name:{width}}  {g.type:<10} {flag:<8}  {g.why}")
        if self.gaps:
            lines.append("not converted:")
            lines += [f"  {gap.name}: {gap.what} — {gap.why}" for gap in self.gaps]
        for line in lines:
            # A page or survey could carry terminal escape sequences in a name or label.
            print(_CONTROL.sub("?", line), file=out)


def form_id_from(*candidates: str | None) -> str | None:
    """The first candidate that makes a valid form id once lower-cased and reduced to letters, digits and '-'."""
    for candidate in candidates:
        if not candidate:
            continue
        text = unicodedata.normalize("NFKD", candidate.translate(_TRANSLITERATION))
        text = text.encode("ascii", "ignore").decode("ascii").lower()
        slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64].strip("-")
        if FORM_ID.match(slug):
            return slug
    return None


def check_definition(form_id: str, schema: dict[str, Any], source: str) -> DefinitionError | None:
    """Formloop's own definition check (the one `formloop check-forms` runs), in-process; its error or None."""
    try:
        compile_definition(form_id, schema, source)
    except DefinitionError as exc:
        return exc
    return None


def drop_refused_setting(form_id: str, schema: dict[str, Any], source: str, path: tuple[str, ...]) -> bool:
    """Remove an `x-form` setting if (and only if) the definition check refuses it there; whether it was removed."""
    error = check_definition(form_id, schema, source)
    if error is None or not error.json_path.startswith("$." + ".".join(path)):
        return False
    parents: list[dict[str, Any]] = [schema]
    for key in path[:-1]:
        parents.append(parents[-1][key])
    del parents[-1][path[-1]]
    if len(path) > 2 and not parents[-1]:  # no empty `spam: {}` left behind
        del parents[-2][path[-2]]
    return True


def write_definition(schema: dict[str, Any], form_id: str, forms_dir: Path, *, force: bool,
                     report: ImportReport, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Check the definition, then write forms/<id>.json unless one exists (and not --force); the exit code."""
    out, err = out or sys.stdout, err or sys.stderr  # looked up per call, so a redirected stream is honoured
    target = forms_dir / f"{form_id}.json"
    report.print(out)
    error = check_definition(form_id, schema, str(target))
    if error is not None:
        print(f"error: the converted definition does not pass the check: {error}", file=err)
        return 1
    if target.exists() and not force:
        print(f"error: {target} exists; pass --force to replace it (or --form-id to choose another id)", file=err)
        return 1
    forms_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target} (checked: OK)", file=out)
    return 0
