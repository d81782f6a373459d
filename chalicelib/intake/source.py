"""Where a post came from: the referring page and its `utm_*` parameters.

A plain site's post carries the page in its `Referer` header; Formloop's own form page passes the page that sent
the visitor there (`document.referrer`) and the `utm_*` of its own URL as hidden `_source` and `_utm_*` fields.
Only what is safe to show and count is kept: an http(s) page without its query or fragment (which may carry
tokens), and `utm_*` values of plain characters. Anything else is dropped, never refused: a visitor's feedback
is never turned away over a tracking parameter.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Letters of any script, digits, space and a little punctuation: nothing that reaches a header or markup.
_UTM_VALUE = re.compile(r"^[\w .+:/@-]{1,100}$")
_HOST = re.compile(r"^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$")
MAX_PAGE_CHARS = 300


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    return value.strip() if isinstance(value, str) else None


def referring_page(url: str | None) -> str | None:
    """An http(s) page as kept: scheme, host and path, no query, fragment or credentials; None for anything else."""
    if not url or len(url) > 2000:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL, or a port out of range
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not _HOST.match(host):
        return None
    port_part = f":{port}" if port else ""
    path = re.sub(r"[\x00-\x20\x7f]", "", parts.path)[:200]
    return f"{parts.scheme}://{host}{port_part}{path}"[:MAX_PAGE_CHARS]


def source_of(values: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, str] | None:
    """The post's source: {"page": the referring page, "utm_source": …}; None when there is nothing to keep."""
    source: dict[str, str] = {}
    # Formloop's own page always sends `_source` (empty when the visitor typed its address): its Referer would
    # only name that page itself.
    page = referring_page(_text(values.get("_source")) if "_source" in values else headers.get("referer"))
    if page:
        source["page"] = page
    for name in UTM_FIELDS:
        value = _text(values.get(f"_{name}"))
        if value and _UTM_VALUE.match(value):
            source[name] = value
    return source or None



def page_fields(referer: str | None, query: Mapping[str, str]) -> dict[str, str]:
    """The hidden fields Formloop's form page carries: the page that sent the visitor to it (its Referer, what
    the page's `document.referrer` would say) and the `utm_*` of its own address; `_source` always, empty when
    unknown, so that the post's own Referer (the form page itself) is not taken for the source."""
    fields = {"_source": referring_page(referer) or ""}
    for name in UTM_FIELDS:
        value = (query.get(name) or "").strip()
        if value and _UTM_VALUE.match(value):
            fields[f"_{name}"] = value
    return fields
