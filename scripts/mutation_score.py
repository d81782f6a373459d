"""Print the mutation score of the last `mutmut run` (killed/total = N%) and fail below the threshold.

Reads the files mutmut mutated from `[tool.mutmut] only_mutate` in pyproject.toml and their results from
mutants/<file>.meta, so the score covers exactly the files `make mutate` measures.
"""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# mutmut's exit codes per mutant (mutmut/stats.py): a failing test (1) or a pytest internal error (3) kills it,
# a hang past the timeout is caught too; 0 means every selected test still passed.
DETECTED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}
SURVIVED = {0: "survived", 5: "no tests", 33: "no tests"}


def mutated_files(pyproject: Path) -> list[str]:
    """The files `[tool.mutmut] only_mutate` names."""
    config = tomllib.loads(pyproject.read_text("utf-8"))["tool"]["mutmut"]
    return list(config["only_mutate"])


def outcome(exit_code: int | None) -> str:
    """A mutant's outcome by the exit code of its test run."""
    if exit_code is None:
        return "not checked"
    return DETECTED.get(exit_code) or SURVIVED.get(exit_code) or "suspicious"


def main(argv: list[str] | None = None) -> int:
    """Print the score per file and overall; 1 below `--min` percent or when a mutant was never run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=90.0, help="lowest acceptable score in percent")
    parser.add_argument("--survivors", action="store_true", help="list the mutants that survived")
    args = parser.parse_args(argv)

    totals: Counter[str] = Counter()
    survivors: list[str] = []
    for path in mutated_files(ROOT / "pyproject.toml"):
        meta = ROOT / "mutants" / f"{path}.meta"
        if not meta.exists():
            print(f"{path}: no results; run `make mutate` (or `mutmut run`) first.", file=sys.stderr)
            return 1
        codes: dict[str, int | None] = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        outcomes = Counter(outcome(code) for code in codes.values())
        detected = outcomes["killed"] + outcomes["timeout"]
        print(f"{path}: {detected}/{len(codes)} = {100 * detected / max(len(codes), 1):.1f}%  "
              + ", ".join(f"{n} {kind}" for kind, n in sorted(outcomes.items())))
        totals.update(outcomes)
        survivors += [name for name, code in codes.items() if outcome(code) not in ("killed", "timeout")]

    total = sum(totals.values())
    detected = totals["killed"] + totals["timeout"]
    score = 100 * detected / max(total, 1)
    print(f"killed/total = {detected}/{total} = {score:.1f}%")
    if args.survivors:
        print("\n".join(sorted(survivors)))
    if totals["not checked"]:
        print(f"{totals['not checked']} mutants were never run; the score is incomplete.", file=sys.stderr)
        return 1
    if score < args.min:
        print(f"Below the {args.min:g}% this project asks for: `mutmut browse` shows each survivor.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
