"""Which content types a route takes, checked by Formloop rather than by Chalice.

Chalice refuses an unlisted type with a terse `{"Code": "UnsupportedMediaType"}` before any Formloop code runs.
A route registered with `content_types=ANY_TYPE` and decorated with `takes(...)` (inside `handles_errors`)
answers instead with Formloop's 415 naming the types to send: problem+json for the admin API, the usual error
page or problem document (by the Accept header) for the dashboard's forms.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.core.errors import UnsupportedMediaTypeError

from .edge import headers

# What a route registers so every type reaches its `takes` check.
ANY_TYPE = ["*/*"]
# Chalice reads a request without a Content-Type as JSON; the check does the same, so such posts keep working.
_UNLABELLED = "application/json"

View = Callable[..., Response]


def refusal(sent: str | None, accepted: tuple[str, ...]) -> UnsupportedMediaTypeError | None:
    """The 415 for a request sent as `sent` to a route that takes `accepted`, or None when it takes it."""
    from chalicelib.intake.parsing import media_type
    try:
        mime = media_type(sent)[0] if sent and sent.strip() else _UNLABELLED
    except UnsupportedMediaTypeError:  # characters beyond Latin-1: no media type at all
        mime = ""
    if mime in accepted:
        return None
    shown = f"Content-Type {mime!r}" if mime and mime.isprintable() and len(mime) <= 100 else "This Content-Type"
    return UnsupportedMediaTypeError(f"{shown} is not accepted here; send one of: {', '.join(accepted)}.")


def takes(*accepted: str, problem_only: bool = False) -> Callable[[View], View]:
    """Refuse other content types with Formloop's 415; `problem_only` answers it as problem+json whatever the
    Accept header (the admin API is JSON). The accepted types are kept on the view for /openapi.json."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            error = refusal(headers().get("content-type"), accepted)
            if error is None:
                return view(*args, **kwargs)
            if problem_only:
                return Response(body=json.dumps(error.problem()), status_code=error.STATUS_CODE,
                                headers={"Content-Type": "application/problem+json", "Cache-Control": "no-store"})
            raise error
        checked.accepted_types = list(accepted)  # type: ignore[attr-defined]
        return checked
    return decorate
