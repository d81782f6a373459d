"""`formloop gifts load|generate|stock|expire|revoke|check ...`: gift campaigns from a terminal."""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from chalicelib.core.config import SettingError, Settings
from chalicelib.core.errors import DefinitionError, FormloopError

USAGE = ("usage: formloop gifts load CAMPAIGN file.csv | generate CAMPAIGN [COUNT] | stock CAMPAIGN | "
         "expire CAMPAIGN | revoke GIFT | check")
COMMANDS = ("load", "generate", "stock", "expire", "revoke", "check")


def progress_bar(done: int, total: int) -> None:
    """Draw `[####....] done/total codes` on stderr, on one line that each call redraws."""
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} codes")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def main(argv: list[str], environ: Mapping[str, str] | None = None) -> int:
    """Run one gift command against the tables the environment names; its exit code."""
    from chalicelib.wiring import build_services

    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    try:
        services = build_services(Settings.from_environ(environ if environ is not None else os.environ))
        gifts = services.gifts
        assert gifts is not None, "build_services wires the gift service"
        if command == "check":
            errors = gifts.campaigns.check(services.forms)
            for error in errors:
                print(f"error: {error}", file=sys.stderr)
            return 1 if errors else 0
        if not args or (command == "load" and len(args) != 2):
            print(USAGE, file=sys.stderr)
            return 2
        if services.settings.stage == "local":  # elsewhere the tables come from the deployment's template
            services.create_tables()
        if command == "load":
            text = Path(args[1]).read_text(encoding="utf-8-sig")
            report = gifts.load_codes(args[0], text, progress=progress_bar if len(text) > 20_000 else None)
            print(json.dumps(report.as_json()))
        elif command == "generate":
            count = int(args[1]) if len(args) > 1 else gifts.campaign(args[0]).generate_count
            print(json.dumps(gifts.generate(args[0], count, progress=progress_bar).as_json()))
        elif command == "stock":
            print(json.dumps(gifts.stock(args[0])))
        elif command == "expire":
            print(json.dumps({"campaign": args[0], "expired": gifts.expire_due(args[0])}))
        else:
            print(json.dumps({"gift": args[0], "state": gifts.revoke(args[0], actor="cli").state}))
    except (FormloopError, SettingError, DefinitionError, OSError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    return 0
