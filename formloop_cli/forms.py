"""`formloop check-forms [folder]`: check every definition, for marketers and CI."""
from __future__ import annotations

import sys
from pathlib import Path

from chalicelib.forms.definitions import check_folder


def main(argv: list[str]) -> int:
    """Check the definitions in argv[0] (default forms/); 1 when any is broken or there are none."""
    if argv and argv[0] in ("-h", "--help"):
        print("usage: formloop check-forms [FOLDER]  (default: forms)")
        return 0
    folder = Path(argv[0]) if argv else Path("forms")
    files = sorted(folder.glob("*.json"))
    if not files:
        print(f"no form definitions (*.json) in {folder}", file=sys.stderr)
        return 1
    errors = check_folder(folder)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"{len(files) - len(errors)} of {len(files)} definitions OK")
    return 1 if errors else 0
