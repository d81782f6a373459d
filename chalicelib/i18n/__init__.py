"""Formloop's own wording in the respondent's language: gettext catalogues, one per language (catalogue.py), and
the choice of language (negotiation.py).

Only Formloop's strings live here; a form's labels, choices and thanks text stay in its definition. Nothing is
imported here, so a stored post, which only negotiates, never loads the catalogues.
"""
