"""Formloop: a form and survey backend for static websites."""
