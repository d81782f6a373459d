"""The Content-Security-Policy of Formloop's pages: nothing loads unless named here.

Inline `<style>` and `<script>` blocks are allowed by the hash of their text, taken from the templates
themselves (never from a rendered page, where an injected block would be hashed too). A page that needs more
(a CAPTCHA widget's script and frame) passes those sources in; there is one place that writes the header.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache

from chalicelib.pages.rendering import TEMPLATES, _environment

NONE = "'none'"
SELF = "'self'"
# Only the bare tags: a `<script src=…>` is allowed by its source, not its hash.
_END = "\x00"
_INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)


def source_hash(text: str) -> str:
    """The CSP hash source ('sha256-…') of an inline block's exact text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@lru_cache(maxsize=1)
def inline_hashes() -> dict[str, tuple[str, ...]]:
    """The hashes of every inline style and script block in the page templates, by kind ("style", "script")."""
    environment = _environment()
    found: dict[str, set[str]] = {"style": set(), "script": set()}
    for template in sorted(TEMPLATES.glob("*.html")):
        for kind, text in _INLINE.findall(template.read_text(encoding="utf-8")):
            # Rendered as the page renders it, so an `{% include %}` inside the block is hashed as served; the
            # end marker keeps the block's last newline, which Jinja drops at the end of a template.
            rendered = environment.from_string(text + _END).render().removesuffix(_END)
            found[kind].add(source_hash(rendered))
    return {kind: tuple(sorted(hashes)) for kind, hashes in found.items()}


def _directive(name: str, sources: Iterable[str]) -> str:
    unique = list(dict.fromkeys(source for source in sources if source))
    return f"{name} {' '.join(unique) if unique else NONE}"


def content_security_policy(*, frame_ancestors: Iterable[str] = (), form_action: Iterable[str] = (),
                            script_sources: Iterable[str] = (), frame_sources: Iterable[str] = (),
                            connect_sources: Iterable[str] = (), style_sources: Iterable[str] = (),
                            image_sources: Iterable[str] = ()) -> str:
    """The policy of one page: the templates' own inline blocks by hash, plus the sources given; 'none' elsewhere.

    An empty `frame_ancestors` or `form_action` means 'none': no site may frame the page, it posts nowhere.
    """
    hashes = inline_hashes()
    return "; ".join((
        "default-src 'none'",
        _directive("script-src", (*hashes["script"], *script_sources)),
        _directive("style-src", (*hashes["style"], *style_sources)),
        _directive("img-src", image_sources),
        _directive("frame-src", frame_sources),
        _directive("connect-src", connect_sources),
        _directive("form-action", form_action),
        _directive("frame-ancestors", frame_ancestors),
        "base-uri 'none'",
    ))


# The local outbox shows emails as written: their HTML carries inline styles (and may show images), but no script
# runs and the sandbox keeps the email from acting as Formloop's origin.
OUTBOX_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; form-action 'none'; "
                 "frame-ancestors 'none'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox")
