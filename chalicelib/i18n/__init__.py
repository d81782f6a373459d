"""Formloop's own wording in the respondent's language: gettext catalogues, one per language.

Only Formloop's strings live here; a form's labels, choices and thanks text stay in its definition.
"""
from chalicelib.i18n.catalogue import (
    LANGUAGES,
    LOCALES_DIR,
    supported,
    template_globals,
    translate,
    translate_error,
    translate_plural,
)

__all__ = ["LANGUAGES", "LOCALES_DIR", "supported", "template_globals", "translate", "translate_error",
           "translate_plural"]
