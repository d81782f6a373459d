"""Catalogues read with the standard library's gettext from compiled `.mo` files.

`make setup` and `formloop package` compile `chalicelib/locales/<lang>/LC_MESSAGES/formloop.po` into `.mo`
with Babel (a build tool, requirements-dev.txt): the Lambda bundle carries the `.mo` files, never Babel. A
checkout whose `.mo` is missing or older than its `.po` (an edited catalogue) compiles it here on first use.
Nothing is imported until a page or a message is translated: a stored post never loads this machinery.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gettext import NullTranslations

    from chalicelib.core.errors import FieldError

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "formloop"
# The languages Formloop's own wording ships in; a form's `locales` decide which a respondent can pick.
LANGUAGES = ("en", "ru", "fr", "vi", "hi")
log = logging.getLogger("formloop")


def base(language: str | None) -> str:
    """`ru-RU` -> `ru`: catalogues are per language, not per region."""
    return (language or "en").split("-")[0].split("_")[0].lower()


def supported(language: str | None) -> bool:
    """Whether Formloop's wording ships in this language."""
    return base(language) in LANGUAGES


def compile_catalogue(po_path: Path, mo_path: Path) -> None:
    """Compile one `.po` into its `.mo` (Babel; the build step, or a checkout's first use)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with po_path.open("rb") as source:
        catalog = read_po(source, domain=DOMAIN)
    with mo_path.open("wb") as target:
        write_mo(target, catalog)


def compile_all(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every catalogue; the `.mo` files written."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        compile_catalogue(po_path, mo_path)
        written.append(mo_path)
    return written


@lru_cache(maxsize=len(LANGUAGES) + 1)
def translations(language: str) -> NullTranslations:
    """The catalogue of one language; for a language Formloop does not ship, the English msgids themselves."""
    import gettext as stdlib_gettext
    code = base(language)
    po_path = LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo_path = po_path.with_suffix(".mo")
    if code not in LANGUAGES:
        return stdlib_gettext.NullTranslations()
    if po_path.is_file() and (not mo_path.is_file() or mo_path.stat().st_mtime < po_path.stat().st_mtime):
        try:
            compile_catalogue(po_path, mo_path)
        except (ImportError, OSError) as exc:  # a read-only bundle always ships its `.mo` files
            log.warning("catalogue %s not compiled (%s); using the one found", po_path, exc)
    if not mo_path.is_file():
        log.error("no compiled catalogue for %s: pages in it show English", code)
        return stdlib_gettext.NullTranslations()
    with mo_path.open("rb") as source:
        return stdlib_gettext.GNUTranslations(source)


def translate(language: str, message: str, /, **params: Any) -> str:
    """`message` in `language`, its `{name}` placeholders filled from `params`."""
    translated = translations(language).gettext(message)
    return translated.format(**params) if params else translated


def translate_plural(language: str, singular: str, plural: str, count: int, /, **params: Any) -> str:
    """The singular or plural form the language uses for `count`, placeholders filled (`count` among them)."""
    translated = translations(language).ngettext(singular, plural, count)
    return translated.format(count=count, **params)


def template_globals(language: str) -> dict[str, Callable[..., str]]:
    """What Jinja2's i18n extension calls (`{% trans %}`, `_()`), bound to one language."""
    catalogue = translations(language)
    return {"gettext": catalogue.gettext, "ngettext": catalogue.ngettext, "_": catalogue.gettext}


def translate_error(error: FieldError, language: str) -> str:
    """A field error's message in `language` (the English message itself in English)."""
    if not error.template or base(language) == "en":
        return error.message
    return translate(language, error.template, **dict(error.params))
