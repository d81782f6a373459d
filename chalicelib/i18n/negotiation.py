"""Which language a page is shown in: the one asked for, else the browser's preference, else the first offered."""
from __future__ import annotations

from functools import lru_cache


def accepted(accept_language: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (at most 20 read)."""
    weighted = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        weighted.append((-weight, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted) if tag and tag != "*"]


# Browsers send the same few headers over and over: each post asks twice (its language, and whether the
# thanks page would come back in it without `?lang=`), so the answers are kept.
@lru_cache(maxsize=512)
def negotiate(offered: tuple[str, ...], requested: str | None, accept_language: str | None) -> str:
    """`requested` (`?lang=`, `_language`), then Accept-Language, then `offered[0]`; always one of `offered`."""
    candidates = ([requested] if requested else []) + accepted(accept_language)
    for candidate in candidates:
        lowered = candidate.lower()
        for locale in offered:
            if lowered == locale.lower() or lowered.split("-")[0] == locale.lower():
                return locale
    return offered[0]
