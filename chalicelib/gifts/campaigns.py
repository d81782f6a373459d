"""Gift campaign definitions (`forms/gifts/*.json`), codes, respondent keys and link-token hashes."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from chalicelib.core.addresses import normalise_address
from chalicelib.core.errors import CodesRejectedError, DefinitionError
from chalicelib.forms.definitions import FormRegistry, format_checker, localized

# No 0/O or 1/I: every character reads and types unambiguously. 32 symbols = 5 bits each.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_GROUPS, GROUP_SIZE = 4, 4  # e.g. RF5U-JJYD-PFB4-7TGE: 80 bits
# An unclaimed link expires after this many days unless the campaign says otherwise (or its gifts expire sooner).
CLAIM_WITHIN_DAYS = 30
CAMPAIGN_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")
MAX_CODE_CHARS = 64
_LABEL: dict[str, Any] = {"oneOf": [
    {"type": "string", "minLength": 1},
    {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}]}

CAMPAIGN_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["form", "title", "value", "codes"],
    "properties": {
        "$schema": {"type": "string"},
        "id": {"type": "string"},
        "form": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "title": _LABEL, "description": _LABEL, "value": _LABEL, "howToUse": _LABEL,
        "expiry": {"oneOf": [
            {"type": "object", "additionalProperties": False, "required": ["daysAfterIssue"],
             "properties": {"daysAfterIssue": {"type": "integer", "minimum": 1, "maximum": 3650}}},
            {"type": "object", "additionalProperties": False, "required": ["until"],
             "properties": {"until": {"type": "string", "format": "date-time"}}}]},
        "codes": {"type": "object", "additionalProperties": False, "required": ["source"],
                  "properties": {"source": {"enum": ["generated", "pool"]},
                                 "count": {"type": "integer", "minimum": 1, "maximum": 1_000_000}}},
        "claimWithinDays": {"type": "integer", "minimum": 1, "maximum": 3650},
        "earnedBy": {"enum": ["valid-submission-with-email"]},
        "digital": {"type": "boolean"},
        "lowStock": {"type": "integer", "minimum": 0},
    },
}


@dataclass(frozen=True)
class Campaign:
    """One gift campaign, checked at load time."""

    id: str
    source: str
    spec: dict[str, Any]

    @property
    def form(self) -> str:
        return str(self.spec["form"])

    @property
    def generated(self) -> bool:
        return bool(self.spec["codes"]["source"] == "generated")

    @property
    def generate_count(self) -> int:
        return int(self.spec["codes"].get("count", 0))

    @property
    def digital(self) -> bool:
        """Whether the respondent may mark the code as used themselves (codes used online)."""
        return bool(self.spec.get("digital", False))

    def text(self, key: str, language: str | None) -> str:
        """A label of the campaign (title, description, value, howToUse) in a language."""
        return localized(self.spec.get(key), language)

    def ends_at(self) -> datetime | None:
        until = self.spec.get("expiry", {}).get("until")
        return datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None

    def expiry_for(self, issued_at: datetime) -> datetime | None:
        """When a gift issued now expires: the campaign's end date, or days after issue, or never."""
        days = self.spec.get("expiry", {}).get("daysAfterIssue")
        return issued_at + timedelta(days=int(days)) if days else self.ends_at()

    def link_deadline(self, promised_at: datetime) -> datetime:
        """When an unclaimed link expires: `claimWithinDays` after the answer, or the gift's expiry if sooner."""
        deadline = promised_at + timedelta(days=int(self.spec.get("claimWithinDays", CLAIM_WITHIN_DAYS)))
        expiry = self.expiry_for(promised_at)
        return min(deadline, expiry) if expiry is not None else deadline

    def low_stock_threshold(self, loaded: int) -> int:
        return int(self.spec.get("lowStock", max(10, loaded // 10)))


def load_campaign(path: Path) -> Campaign:
    """Read and check one campaign file; a DefinitionError names the file and the JSON path."""
    source = str(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, "$", f"not valid JSON: {exc}") from None
    if not CAMPAIGN_ID.match(path.stem):
        raise DefinitionError(source, "$", "campaign file names are lower-case letters, digits and '-'")
    validator = Draft202012Validator(CAMPAIGN_SCHEMA, format_checker=format_checker())
    for error in sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path)):
        path_text = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise DefinitionError(source, path_text, error.message)
    if spec.get("id", path.stem) != path.stem:
        raise DefinitionError(source, "$.id", f"id {spec['id']!r} must match the file name {path.stem!r}")
    if spec["codes"]["source"] == "generated" and "count" not in spec["codes"]:
        raise DefinitionError(source, "$.codes", "generated codes need a count")
    return Campaign(id=path.stem, source=source, spec=spec)


class CampaignRegistry:
    """Campaigns in `{forms_dir}/gifts/`, loaded and checked on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, Campaign] = {}

    def get(self, campaign_id: str) -> Campaign | None:
        if not CAMPAIGN_ID.match(campaign_id):
            return None
        if campaign_id not in self._cache:
            path = self.folder / f"{campaign_id}.json"
            if not path.is_file():
                return None
            self._cache[campaign_id] = load_campaign(path)
        return self._cache[campaign_id]

    def all(self) -> list[Campaign]:
        """Every campaign in the folder."""
        found = (self.get(path.stem) for path in sorted(self.folder.glob("*.json")))
        return [campaign for campaign in found if campaign is not None]

    def check(self, forms: FormRegistry) -> list[DefinitionError]:
        """Every campaign file checked, and every survey's `x-form.gift.campaign` pointing at one of them."""
        errors: list[DefinitionError] = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                campaign = load_campaign(path)
                if forms.get(campaign.form) is None:
                    errors.append(DefinitionError(str(path), "$.form", f"there is no form {campaign.form!r}"))
            except DefinitionError as exc:
                errors.append(exc)
        for form_id in forms.ids():
            definition = forms.get(form_id)
            wanted = (definition.settings.get("gift") or {}).get("campaign") if definition else None
            if wanted and (self.folder / f"{wanted}.json").is_file() is False:
                errors.append(DefinitionError(definition.source if definition else form_id, "$.x-form.gift.campaign",
                                              f"there is no campaign file gifts/{wanted}.json"))
        return errors


# --- codes, addresses, tokens ------------------------------------------------------------------------------

def generate_code() -> str:
    """A fresh code from the unambiguous alphabet, grouped for reading (80 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_GROUPS * GROUP_SIZE))
    return "-".join(raw[i:i + GROUP_SIZE] for i in range(0, len(raw), GROUP_SIZE))


def normalise_code(typed: str) -> str:
    """The stored form of a code as a person types it: case, spaces, dashes and full-width characters ignored."""
    text = unicodedata.normalize("NFKC", typed).upper()
    return re.sub(r"[\s\-_.\u2010-\u2015]+", "", text)


def respondent_key(address: str) -> str:
    """The stored key of a respondent: a hash, so the gift tables hold no address."""
    return hashlib.sha256(b"formloop-gift-respondent\0" + normalise_address(address).encode("utf-8")).hexdigest()


def token_hash(token: str) -> str:
    """The stored form of a link token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _csv_rows(text: str) -> Iterator[list[str]]:
    """The rows of a CSV text; CodesRejectedError naming the line the csv module cannot read."""
    # newline="": a line may end in \n, \r\n or a lone \r (old Mac exports), as the csv module expects of a file.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        yield from reader
    except csv.Error as exc:
        raise CodesRejectedError(f"No codes were loaded: line {reader.line_num} cannot be read as CSV ({exc}); "
                                 "send one code per line, first column.") from None


def parse_codes_csv(text: str) -> list[tuple[str, str]]:
    """(normalised, as given) codes of a CSV whose first column is the code; a `code` header is optional.

    The whole file is refused (CodesRejectedError) on duplicates or unusable rows, so nothing half-loads.
    """
    rows: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for number, row in enumerate(_csv_rows(text.lstrip("\ufeff")), start=1):
        display = row[0].strip() if row else ""
        if not display or (number == 1 and display.lower() in ("code", "codes", "coupon")):
            continue
        key = normalise_code(display)
        if not key or len(key) > MAX_CODE_CHARS or not key.isprintable():
            problems.append(f"line {number}: {display[:40]!r} is not a usable code (1-{MAX_CODE_CHARS} characters)")
        elif key in seen:
            problems.append(f"line {number}: {display!r} repeats line {seen[key]}")
        else:
            seen[key] = number
            rows.append((key, display))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise CodesRejectedError(f"No codes were loaded: {shown}.")
    if not rows:
        raise CodesRejectedError("No codes were loaded: the file has no codes (one code per line, first column).")
    return rows
