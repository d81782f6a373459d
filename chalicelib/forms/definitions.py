"""Form definitions: one JSON Schema 2020-12 document per form, settings in `x-` annotations.

Definitions are checked when loaded (and by `make check-forms` and the test suite; the checks
are in checks.py): the schema itself, a meta-schema for the `x-` parts, and every regular
expression. A Lambda package records the SHA-256 of the definitions it checked at packaging;
those exact bytes are not checked again on a cold start.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import DefinitionError, NotFoundError
from chalicelib.forms.fastcheck import Check, check_bytecode, compile_check, dumps_checks, load_check, loads_checks
from chalicelib.forms.formats import FORMATS
from chalicelib.forms.patterns import bounded_pattern

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker

FORM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
FEEDBACK_KINDS = ("complaint", "idea", "question", "praise", "referral")
# Definitions packaged for Lambda carry the SHA-256 of every file checked at packaging (sha256sum's format):
# a file whose bytes still match is not checked again on a cold start.
CHECKED_MANIFEST = "checked.sha256"
# Beside each checked definition, its answer checks compiled at packaging (fastcheck.check_bytecode), e.g.
# contact.checks: a cold start loads them instead of generating and compiling them.
COMPILED_CHECKS_SUFFIX = ".checks"
_VALIDATION_CHECK = "validation"
_DIGEST = "sha256"


# jsonschema is imported on first need only: a valid post to a packaged form never needs it.
@functools.cache
def format_checker() -> FormatChecker:
    """The format checker every form validator uses: jsonschema's, with Formloop's own where it has one."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    for name, function in FORMATS.items():
        checker.checks(name)(function)
    return checker


@functools.cache
def _form_validator_class() -> Any:
    """Draft 2020-12, except that `pattern` never runs on text longer than the question allows."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": bounded_pattern})


def form_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A jsonschema validator of answers (every error, with its path) for a form or a condition."""
    validator: Draft202012Validator = _form_validator_class()(schema, format_checker=format_checker())
    return validator


def localized(label: Any, language: str | None, fallback: str = "") -> str:
    """Pick a label's text in a language, falling back to English, then to any language."""
    if label is None:
        return fallback
    if isinstance(label, str):
        return label
    if isinstance(label, Mapping):
        for candidate in (language, (language or "").split("-")[0], "en"):
            if candidate and candidate in label:
                return str(label[candidate])
        return str(next(iter(label.values()), fallback))
    return fallback


# Widgets whose answer is one line even without `x-ui.singleLine`.
SINGLE_LINE_WIDGETS = frozenset({"text", "email", "tel", "url"})


@dataclass(frozen=True)
class Question:
    """One property of a form, with what a page needs to show it."""

    name: str
    schema: Mapping[str, Any]
    required: bool

    @property
    def ui(self) -> Mapping[str, Any]:
        return self.schema.get("x-ui", {})

    @property
    def visible_if(self) -> Mapping[str, Any] | None:
        return self.ui.get("visibleIf")

    def label(self, language: str | None) -> str:
        return localized(self.ui.get("label"), language, self.schema.get("title", self.name))

    @property
    def is_array(self) -> bool:
        return self.schema.get("type") == "array"


@dataclass
class FormDefinition:
    """A loaded, checked form definition."""

    id: str
    source: str
    schema: dict[str, Any]
    settings: dict[str, Any]
    questions: list[Question]
    # The schema answers are checked against: `visibleIf` compiled into if/then, so a hidden question is never
    # required.
    validation_schema: dict[str, Any] = field(default_factory=dict)
    # Question name -> its `visibleIf` condition (a schema the other answers must satisfy).
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        """jsonschema's validator of answers: every error, with its field (built on first need)."""
        return form_validator(self.validation_schema)

    # The checks compiled at packaging (`compiled_checks`), when these exact bytes were checked then; None: each
    # check is compiled here on first need.
    shipped_checks: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def fast_check(self) -> Check | None:
        """The compiled yes/no check of answers, or None when only jsonschema can check this form exactly."""
        return self._check(_VALIDATION_CHECK, self.validation_schema)

    @functools.cached_property
    def _condition_checks(self) -> dict[str, tuple[Check | None, Any]]:
        return {name: (self._check(_condition_check(name), condition), condition)
                for name, condition in self.conditions.items()}

    def _check(self, name: str, schema: Any) -> Check | None:
        if self.shipped_checks is not None and name in self.shipped_checks:
            return load_check(self.shipped_checks[name])
        return compile_check(schema)

    def compiled_checks(self) -> dict[str, Any]:
        """Every answer check of this form as bytecode (the answers', each `visibleIf`'s), for a bundle to ship."""
        checks = {_VALIDATION_CHECK: check_bytecode(self.validation_schema)}
        for name, condition in self.conditions.items():
            checks[_condition_check(name)] = check_bytecode(condition)
        return checks

    @property
    def kind(self) -> str:
        return str(self.settings["kind"])

    @property
    def locales(self) -> list[str]:
        return list(self.settings.get("locales") or ["en"])

    @property
    def honeypots(self) -> tuple[str, ...]:
        """The fields no person fills: a post with any of them filled is kept as spam."""
        names = self.settings.get("spam", {}).get("honeypot", "_gotcha")
        return (names,) if isinstance(names, str) else tuple(str(name) for name in names)

    @property
    def honeypot(self) -> str:
        """The honeypot Formloop's own page renders: the first one named."""
        return self.honeypots[0]

    @property
    def allowed_origins(self) -> list[str]:
        return list(self.settings.get("allowedOrigins", []))

    @property
    def respondent_email_field(self) -> str | None:
        return self.settings.get("respondentEmail")

    @functools.cached_property
    def free_text_fields(self) -> frozenset[str]:
        """The questions whose answers may hold line breaks: free text that reaches no header (worked out once,
        not per answer of every post)."""
        return frozenset(question.name for question in self.questions if not self._single_line(question))

    def _single_line(self, question: Question) -> bool:
        if question.name == self.respondent_email_field:
            return True  # the acknowledgement's To
        if question.schema.get("format") == "email":
            return True
        declared = question.ui.get("singleLine")
        if isinstance(declared, bool):
            return declared
        # A list holds choices (checkboxes, `role[]`), each one line; free text is one string.
        return question.ui.get("widget") in SINGLE_LINE_WIDGETS or question.is_array

    def title(self, language: str | None) -> str:
        return localized(self.settings.get("title"), language, self.schema.get("title", self.id))

    def question(self, name: str) -> Question | None:
        for question in self.questions:
            if question.name == name:
                return question
        return None

    def shown(self, name: str, answers: Mapping[str, Any]) -> bool:
        """Whether a question is shown, given the other answers (always, without a `visibleIf`)."""
        if name not in self.conditions:
            return True
        check, condition = self._condition_checks[name]
        verdict = check(answers) if check is not None else None
        return form_validator(condition).is_valid(answers) if verdict is None else verdict

    def visible_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Drop answers to questions whose `visibleIf` the other answers do not satisfy."""
        if not self.conditions:
            return answers
        return {name: value for name, value in answers.items() if self.shown(name, answers)}

    def feedback_kind(self, answers: Mapping[str, Any]) -> str | None:
        """The kind of feedback a submission is (complaint, idea, question, praise, referral)."""
        kind_field = self.settings.get("feedbackKindField")
        if kind_field and answers.get(kind_field) in FEEDBACK_KINDS:
            return str(answers[kind_field])
        fixed = self.settings.get("feedbackKind")
        return str(fixed) if fixed else None

    def public_schema(self) -> dict[str, Any]:
        """The schema a site may see: presentation kept, internal settings (addresses, spam rules) removed."""
        # The compiled schema, so a client validating with it agrees with Formloop on conditional questions.
        public = copy.deepcopy(self.validation_schema or self.schema)
        settings = public.pop("x-form", {})
        public["x-form"] = {key: settings[key] for key in
                            ("kind", "locales", "title", "description", "submitLabel", "thanks",
                             "opens", "closes") if key in settings}
        return public


def compile_definition(form_id: str, schema: Any, source: str, *, checked: bool = False) -> FormDefinition:
    """Check a definition (unless these exact bytes were checked at packaging) and build it; raise
    DefinitionError naming the path."""
    if not checked:
        from chalicelib.forms.checks import check_document, check_question
        check_document(schema, source)
    settings = schema["x-form"]
    required = set(schema.get("required", []))
    properties: dict[str, Any] = schema["properties"]
    questions: list[Question] = []
    conditions: dict[str, dict[str, Any]] = {}
    compiled: list[dict[str, Any]] = []
    for name, prop in properties.items():
        if not checked:
            check_question(name, prop, source)
        condition = prop.get("x-ui", {}).get("visibleIf")
        if condition is not None:
            conditions[name] = condition
            if name in required:
                # Compiled to if/then so a hidden question can never be required.
                required.discard(name)
                compiled.append({"if": condition, "then": {"required": [name]}})
        # `required` on a conditional question means "required while shown".
        questions.append(Question(name=name, schema=prop, required=name in schema.get("required", [])))
    validation_schema = dict(schema)
    validation_schema["required"] = [name for name in schema.get("required", []) if name in required]
    if compiled:
        validation_schema["allOf"] = list(schema.get("allOf", [])) + compiled
    return FormDefinition(
        id=form_id, source=source, schema=schema, settings=settings, questions=questions,
        validation_schema=validation_schema, conditions=conditions,
    )


def parse_instant(value: Any) -> datetime | None:
    """An `opens`/`closes` setting as an aware datetime; None if absent or not a date-time with a zone."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _condition_check(question: str) -> str:
    return f"visibleIf:{question}"


def _shipped_checks(path: Path, digest: str) -> dict[str, Any] | None:
    """The checks compiled beside a checked definition with this digest, or None (then compiled on first need)."""
    try:
        checks = loads_checks(path.with_suffix(COMPILED_CHECKS_SUFFIX).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return checks if checks is not None and checks.get(_DIGEST) == digest else None


def load_definition(path: Path, checked_digest: str | None = None) -> FormDefinition:
    """Read one definition file and check it, unless its SHA-256 is `checked_digest` (checked at packaging)."""
    source = str(path)
    raw = path.read_bytes()
    checked = checked_digest is not None and hashlib.sha256(raw).hexdigest() == checked_digest
    try:
        schema = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, "$", f"not valid JSON: {exc}") from None
    form_id = path.stem
    if not FORM_ID.match(form_id):
        raise DefinitionError(source, "$", "file names must be lower-case letters, digits and '-' (e.g. contact.json)")
    declared = schema.get("$id") if isinstance(schema, dict) else None
    if declared is not None and declared != form_id:
        raise DefinitionError(source, "$.$id", f"$id {declared!r} must match the file name {form_id!r}")
    definition = compile_definition(form_id, schema, source, checked=checked)
    if checked and checked_digest is not None:
        definition.shipped_checks = _shipped_checks(path, checked_digest)
    return definition


def read_manifest(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 of the definitions checked at packaging (empty without a manifest)."""
    try:
        text = (folder / CHECKED_MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    digests: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            digests[name] = digest
    return digests


def seal_folder(folder: Path) -> list[DefinitionError]:
    """Check every definition in a folder and, if all are good, record their SHA-256 in its manifest and write
    each one's compiled answer checks beside it."""
    (folder / CHECKED_MANIFEST).unlink(missing_ok=True)
    for stale in folder.glob(f"*{COMPILED_CHECKS_SUFFIX}"):
        stale.unlink()
    errors = check_folder(folder)
    if not errors:
        digests = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.json"))}
        for path, digest in digests.items():
            checks = {_DIGEST: digest, **load_definition(path, digest).compiled_checks()}
            path.with_suffix(COMPILED_CHECKS_SUFFIX).write_bytes(dumps_checks(checks))
        lines = [f"{digest}  {path.name}\n" for path, digest in digests.items()]
        (folder / CHECKED_MANIFEST).write_text("".join(lines), encoding="utf-8")
    return errors


class FormRegistry:
    """Finds definitions by id, loading and checking each on first use (and, when watching, again when its file
    changes: `make run` picks up an edited definition on the next request; in Lambda the files never change, so
    a post costs no stat)."""

    def __init__(self, forms_dir: Path, *, watch: bool = False) -> None:
        self.forms_dir = forms_dir
        self.watch = watch
        # form id -> (the file's mtime and size when it was loaded, the definition)
        self._cache: dict[str, tuple[tuple[int, int], FormDefinition]] = {}
        self._checked: dict[str, str] | None = None

    def get(self, form_id: str) -> FormDefinition | None:
        """The definition of a form, or None if there is no such form."""
        if not self.watch:
            cached = self._cache.get(form_id)
            if cached is not None:
                return cached[1]
        if not FORM_ID.match(form_id):
            return None
        path = self.forms_dir / f"{form_id}.json"
        try:
            found = path.stat()
        except OSError:
            self._cache.pop(form_id, None)
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        stamp = (found.st_mtime_ns, found.st_size)
        cached = self._cache.get(form_id)
        if cached is None or cached[0] != stamp:
            if self._checked is None:
                self._checked = read_manifest(self.forms_dir)
            cached = self._cache[form_id] = (stamp, load_definition(path, self._checked.get(path.name)))
        return cached[1]

    def require(self, form_id: str) -> FormDefinition:
        """The definition of a form, or NotFoundError (404) for a form id nobody defined."""
        definition = self.get(form_id)
        if definition is None:
            raise NotFoundError("There is no form with this address; check the form's name or action URL.")
        return definition

    def ids(self) -> list[str]:
        """Every form id in the definitions folder."""
        return sorted(p.stem for p in self.forms_dir.glob("*.json") if FORM_ID.match(p.stem))


def check_folder(folder: Path) -> list[DefinitionError]:
    """Check every definition in a folder; the errors found (empty when all are good)."""
    errors: list[DefinitionError] = []
    for path in sorted(folder.glob("*.json")):
        try:
            load_definition(path)
        except DefinitionError as exc:
            errors.append(exc)
    return errors
