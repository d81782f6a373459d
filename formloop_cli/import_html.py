"""`formloop import-html page.html`: turn an existing page's `<form>` into a Formloop definition."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from formloop_cli.html_controls import (
    FOREIGN_HIDDEN,
    FORMLOOP_CONTROLS,
    IGNORED_UNDERSCORE,
    REDIRECT_FIELDS,
    is_foreign_hidden,
    is_honeypot,
)
from formloop_cli.html_fields import NOT_POSTED, FieldGroup, Labels, form_controls, group_fields
from formloop_cli.html_page import Element, parse_page
from formloop_cli.html_questions import question_for
from formloop_cli.importing import ImportReport, drop_refused_setting, form_id_from, write_definition

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


class PageImportError(Exception):
    """The page cannot be imported (no form, or the chosen one is not there); the message says why."""


def choose_form(root: Element, choice: str | None, report: ImportReport) -> Element:
    """The form to import: the only one, the N-th (1-based), or the one with that id or name; says which."""
    forms = [e for e in root.iter() if e.tag == "form"]
    if not forms:
        raise PageImportError("the page has no <form>")
    described = [_describe(i, f) for i, f in enumerate(forms, start=1)]
    if choice is None:
        chosen = forms[0]
    elif choice.isdigit() and 1 <= int(choice) <= len(forms):
        chosen = forms[int(choice) - 1]
    else:
        matches = [f for f in forms if choice in (f.get("id"), f.get("name"))]
        if not matches:
            raise PageImportError(f"no form {choice!r}; the page has: " + "; ".join(described))
        chosen = matches[0]
    index = forms.index(chosen)
    if len(forms) > 1:
        others = "; ".join(d for i, d in enumerate(described) if i != index)
        report.notes.append(f"took {described[index]} of {len(forms)} (others: {others}; choose with --form)")
    else:
        report.notes.append(f"took {described[index]}")
    return chosen


def _describe(index: int, form: Element) -> str:
    names = ", ".join(f'{a}="{form.get(a)}"' for a in ("id", "name") if form.get(a))
    return f"form #{index}" + (f" ({names})" if names else "") + (f" posting to {form.get('action')}"
                                                                  if form.get("action") else "")


def import_page(html: str, *, choice: str | None = None, form_id: str | None = None,
                fallback_id: str = "contact") -> tuple[str, dict[str, Any], ImportReport]:
    """The form id, the definition and the report of one page's form."""
    report = ImportReport()
    root = parse_page(html)
    form = choose_form(root, choice, report)
    chosen_id = form_id or form_id_from(form.get("name"), form.get("id"), fallback_id) or "contact"
    labels = Labels(root)
    settings: dict[str, Any] = {"kind": "contact"}
    properties: dict[str, Any] = {}
    required: list[str] = []
    honeypots: list[tuple[str, str]] = []
    netlify_honeypot = form.get("netlify-honeypot") or form.get("data-netlify-honeypot")
    _form_level_notes(form, report)
    for group in group_fields(form_controls(root, form)):
        name = group.name
        if all(kind in NOT_POSTED for kind in group.kinds()):
            if not name.startswith("_"):  # a named button posts name=value when it is the one clicked
                values = sorted({c.get("value") or "" for c in group.controls} - {""}) or [""]
                properties[name] = {"type": "string", "enum": values, "x-ui": {"widget": "hidden"}}
                report.guess(name, "hidden", False, "a named submit button: the page posts its value")
            continue
        honeypot_why = is_honeypot(group, netlify_honeypot)
        if honeypot_why:
            honeypots.append((group.posted_name, honeypot_why))
            continue
        if group.posted_name.startswith("_") and group.posted_name not in REDIRECT_FIELDS:
            _underscore_field(group, settings, report)
            continue
        if group.posted_name in REDIRECT_FIELDS and all(k == "hidden" for k in group.kinds()):
            _redirect_setting(group, settings, report)
            if group.posted_name.startswith("_"):
                continue
        if is_foreign_hidden(group):
            value = group.controls[-1].get("value") or ""
            properties[name] = {"type": "string", "const": value, "x-ui": {"widget": "hidden"}} if value \
                else {"type": "string", "x-ui": {"widget": "hidden"}}
            report.guess(name, "hidden", False, f"{FOREIGN_HIDDEN[group.posted_name]}: the page posts it, so it is "
                                                "kept as a hidden answer (drop it from the page and the definition "
                                                "once the old service is gone)")
            continue
        question = question_for(group, labels, report)
        if question is None:
            continue
        schema, is_required, type_name, why = question
        properties[name] = schema
        if is_required:
            required.append(name)
        report.guess(name, type_name, is_required, why)
    title = _title(root, form)
    if title:
        settings["title"] = title
    language = _language(root)
    if language:
        settings["locales"] = [language]
    definition: dict[str, Any] = {"$schema": SCHEMA_URI, "$id": chosen_id, "title": title or chosen_id,
                                  "type": "object", "additionalProperties": False, "required": required,
                                  "properties": properties, "x-form": settings}
    _honeypot_setting(definition, chosen_id, honeypots, report)
    return chosen_id, definition, report


def _form_level_notes(form: Element, report: ImportReport) -> None:
    if (form.get("method") or "get").lower() != "post":
        report.gap("<form>", f"method={form.get('method') or 'get (the default)'}",
                   "Formloop takes posts only: set method=\"post\" when you change the action URL")
    if form.has("data-netlify") or form.has("netlify"):
        report.notes.append("a Netlify form (data-netlify): remove data-netlify and netlify-honeypot when the action "
                            "points at Formloop")


def _underscore_field(group: FieldGroup, settings: dict[str, Any], report: ImportReport) -> None:
    name = group.posted_name
    if name in FORMLOOP_CONTROLS:
        report.notes.append(f"control field {name}: {FORMLOOP_CONTROLS[name]}, read as is")
        if any(kind != "hidden" for kind in group.kinds()):
            report.gap(name, "a visible input", "Formloop reads it as a control field, not a question: it is not "
                                                "required and Formloop's own page does not show it (rename it, "
                                                "e.g. to email, to make it a question)")
        if name == "_next":
            origin = _origin(group.controls[-1].get("value") or "")
            if origin:
                settings.setdefault("allowedOrigins", []).append(origin)
                report.notes.append(f"allowedOrigins: {origin} (so Formloop follows _next to it)")
        return
    why = IGNORED_UNDERSCORE.get(name, "Formloop has no setting for it")
    report.gap(name, "control field", f"posts carrying it are accepted and the value ignored; {why}")


def _redirect_setting(group: FieldGroup, settings: dict[str, Any], report: ImportReport) -> None:
    value = (group.controls[-1].get("value") or "").strip()
    if value.startswith(("http://", "https://", "/")):
        settings["redirect"] = value
        report.notes.append(f"{group.posted_name}={value} -> x-form.redirect (Formloop's per-post field is _next)")
    else:
        report.gap(group.posted_name, f"redirect {value!r}", "x-form.redirect must be an http(s) URL or a path")


def _honeypot_setting(definition: dict[str, Any], form_id: str, honeypots: list[tuple[str, str]],
                      report: ImportReport) -> None:
    # `_gotcha`-style names first: the first honeypot is the one Formloop's own page renders, and browsers do not
    # autofill a name like `_gotcha` the way they may fill an off-screen `website` input.
    ordered = sorted(honeypots, key=lambda pair: not pair[0].startswith("_"))
    kept: list[str] = []
    for name, why in ordered:
        definition["x-form"]["spam"] = {"honeypot": name}
        if drop_refused_setting(form_id, definition, "import", ("x-form", "spam", "honeypot")):
            report.gap(name, "honeypot", f"{why}, but x-form.spam.honeypot takes names of one line and at most 100 "
                                         f"characters: an empty {name} is dropped, a filled one is refused as an "
                                         f"unknown field (422) instead of kept as spam; rename it _gotcha in the page")
            continue
        kept.append(name)
        report.notes.append(f"honeypot: {name} ({why}) -> x-form.spam.honeypot")
    if kept:
        definition["x-form"]["spam"] = {"honeypot": kept[0] if len(kept) == 1 else kept}


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def _title(root: Element, form: Element) -> str | None:
    for candidate in (form.get("aria-label"), *(e.text() for e in root.iter() if e.tag == "title")):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


def _language(root: Element) -> str | None:
    for element in root.iter():
        if element.tag == "html":
            primary = (element.get("lang") or "").split("-")[0].lower()
            return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None
    return None


def main(argv: list[str]) -> int:
    """Import a page's form; 0 when the definition was written, 1 when not, 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="formloop import-html",
                                     description="Turn a page's <form> into a Formloop definition.")
    parser.add_argument("page", type=Path, help="the HTML file holding the form")
    parser.add_argument("--form", help="which form: its number (1 = first) or its id/name attribute")
    parser.add_argument("--form-id", help="the Formloop form id (default: the form's name or id attribute)")
    parser.add_argument("--forms-dir", type=Path, default=Path("forms"), help="where definitions live")
    parser.add_argument("--force", action="store_true", help="replace an existing definition")
    args = parser.parse_args(argv)
    try:
        html = args.page.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"error: cannot read {args.page}: {exc.strerror}", file=sys.stderr)
        return 1
    if args.form_id is not None and form_id_from(args.form_id) != args.form_id:
        print(f"error: --form-id {args.form_id!r} must be lower-case letters, digits and '-'", file=sys.stderr)
        return 2
    try:
        form_id, definition, report = import_page(html, choice=args.form, form_id=args.form_id,
                                                  fallback_id=args.page.stem)
    except PageImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RecursionError:
        print(f"error: {args.page} nests elements too deeply to read", file=sys.stderr)
        return 1
    code = write_definition(definition, form_id, args.forms_dir, force=args.force, report=report)
    if code == 0:
        print(f"next: point the form's action at https://<your Formloop>/f/{form_id}")
    return code
