"""Where the dashboard sends the owner after signing in: the page they asked for, only if it is one of its own.

A sign-in link carries the wanted page (`/admin?next=/admin/results/contact`) and anyone can craft such a link, so
the value is taken only as an absolute path under `/admin/` on this site and anything else falls back to the inbox:
an open redirect after a genuine sign-in would lend the dashboard's trust to another site.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

INBOX = "/admin/inbox"
DASHBOARD_PREFIX = "/admin/"
LONGEST = 1000
# Printable ASCII but the backslash (which browsers read as a slash) and the fragment mark: what a path and query
# of the dashboard's own links are made of; spaces, control characters and other scripts are sent percent-encoded.
_PLAIN = re.compile(r"[!-\[\]-~]+")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def dashboard_destination(wanted: str | None) -> str | None:
    """`wanted` when it is a path and query under /admin/ on this site, to redirect to as it is; None otherwise."""
    if not wanted or len(wanted) > LONGEST or not _PLAIN.fullmatch(wanted) or "#" in wanted:
        return None
    if _BAD_ESCAPE.search(wanted):
        return None
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or not parts.path.startswith(DASHBOARD_PREFIX):
        return None
    # The path as the server will read it: an encoded slash, backslash, dot or control character counts as itself.
    decoded = unquote(parts.path)
    if not decoded.startswith(DASHBOARD_PREFIX) or "//" in decoded or "\\" in decoded:
        return None
    if not decoded.isprintable() or any(segment in (".", "..") for segment in decoded.split("/")):
        return None
    return wanted


def after_sign_in(wanted: str | None) -> str:
    """The page to land on after signing in: the wanted one when it is the dashboard's own, else the inbox."""
    return dashboard_destination(wanted) or INBOX
