"""Response headers every route shares: page policies, nosniff, referrer policy, Vary, a well-formed Location.

One HTTP middleware (registered by edge.attach) applies them to every response, Chalice's own 405 and 415
included, so a route cannot forget them; a route that needs another policy sets it and the middleware keeps it.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chalice import Response

if TYPE_CHECKING:
    from chalicelib.forms.definitions import FormDefinition

log = logging.getLogger("formloop")

# The routes that answer CORS: a cache must keep their answers apart per Origin, allowed or not.
CORS_ROUTES = frozenset({"/f/{form_id}", "/f/{form_id}/schema"})
# RFC 3986's reserved and unreserved characters, and "%" so that what is already encoded stays as it is.
_URI_SAFE = "/?#[]@!$&'()*+,;=:-._~%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}


def iri_to_uri(iri: str) -> str:
    """A URL as a URI (RFC 3987 section 3.1): UTF-8 percent-encoded, what is already encoded kept, no raw controls,
    and a `%` that starts no escape written as `%25`."""
    return quote(_STRAY_PERCENT.sub("%25", iri), safe=_URI_SAFE, encoding="utf-8", errors="surrogatepass")


@lru_cache(maxsize=1)
def page_policy() -> str:
    """Admin and error pages: nothing may frame them, and they post nowhere."""
    from chalicelib.pages.csp import NONE, content_security_policy
    return content_security_policy(frame_ancestors=[NONE], form_action=[NONE])


@lru_cache(maxsize=1)
def gift_policy() -> str:
    """Gift pages: nothing may frame them (the link is a credential), and they post only to Formloop itself."""
    from chalicelib.pages.csp import NONE, SELF, content_security_policy
    return content_security_policy(frame_ancestors=[NONE], form_action=[SELF])


def _origins(definition: FormDefinition) -> list[str]:
    from chalicelib.intake.service import origin_of
    found = [origin_of(origin.rstrip("/")) for origin in definition.allowed_origins]
    return [origin for origin in found if origin]


def _captcha_sources(definition: FormDefinition) -> tuple[list[str], list[str]]:
    """The form's CAPTCHA widget (`x-form.captcha.provider`): its script sources, and its frame and connect ones."""
    captcha = definition.settings.get("captcha")
    provider = captcha.get("provider") if isinstance(captcha, Mapping) else None
    if not provider:
        return [], []
    try:
        from chalicelib.intake.captcha import page_sources
    except ImportError:
        # Fail closed: without the provider's sources the widget is blocked, never the policy loosened.
        log.warning("form %s names CAPTCHA provider %r, but this build has no chalicelib.intake.captcha",
                    definition.id, provider)
        return [], []
    scripts, frames = page_sources(str(provider))
    return list(scripts), list(frames)


def form_policy(definition: FormDefinition) -> str:
    """A form's pages: framed only by the sites the form lists, posting to Formloop and redirecting to those sites."""
    from chalicelib.intake.service import origin_of
    from chalicelib.pages.csp import SELF, content_security_policy
    origins = _origins(definition)
    redirect = origin_of(str(definition.settings.get("redirect") or ""))
    scripts, frames = _captcha_sources(definition)
    # Without allowedOrigins the form takes posts from anywhere, but only Formloop's own pages may frame it.
    return content_security_policy(
        frame_ancestors=[SELF, *origins], form_action=[SELF, *origins, *([redirect] if redirect else [])],
        script_sources=scripts, frame_sources=frames, connect_sources=frames)


def _default_policy(route: str) -> str:
    from chalicelib.pages.csp import OUTBOX_POLICY
    if route.startswith("/g/"):
        return gift_policy()
    if route.startswith("/outbox"):
        return OUTBOX_POLICY
    return page_policy()


def _merge_vary(current: str | None, names: Iterable[str]) -> str:
    present = [part.strip() for part in (current or "").split(",") if part.strip()]
    lowered = {part.lower() for part in present}
    return ", ".join([*present, *(name for name in names if name.lower() not in lowered)])


def secure_headers(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware: the shared headers on every response."""
    response = get_response(event)
    found = {name.lower(): name for name in response.headers}
    route = str((event.context or {}).get("resourcePath", ""))
    # A gift link carries its token, error pages included: no referrer at all leaves with it.
    shared = {**ALWAYS, "Referrer-Policy": "no-referrer"} if route.startswith("/g/") else ALWAYS
    for name, value in shared.items():
        if name.lower() not in found:
            response.headers[name] = value
    content_type = str(response.headers.get(found.get("content-type", "Content-Type"), ""))
    if "content-security-policy" not in found:
        # JSON, CSV and schemas are never pages: opened in a tab or framed, they may load and run nothing.
        response.headers["Content-Security-Policy"] = (_default_policy(route) if content_type.startswith("text/html")
                                                       else DOCUMENT_POLICY)
    if route in CORS_ROUTES or "access-control-allow-origin" in found:
        vary = found.get("vary", "Vary")
        response.headers[vary] = _merge_vary(str(response.headers.get(vary) or ""), ["Origin"])
    if "location" in found:
        response.headers[found["location"]] = iri_to_uri(str(response.headers[found["location"]]))
    return response
