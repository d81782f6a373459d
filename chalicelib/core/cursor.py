"""The one cursor codec: where a paged read continues, as an opaque URL-safe token.

A cursor is compact JSON in unpadded URL-safe base64. Decoding checks every field with the caller's test,
so a cursor Formloop did not give out (edited, truncated, nested, from another listing) is a clear 400,
never a read from an arbitrary place or a crash.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping

from chalicelib.core.errors import MalformedRequestError

# Far more than any cursor Formloop writes: a longer one was not made here.
MAX_CURSOR_CHARS = 512


def encode_cursor(position: Mapping[str, str]) -> str:
    """An opaque cursor for a position, e.g. {"after": <id>, "status": "received"}."""
    raw = json.dumps(dict(position), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, fields: Mapping[str, Callable[[str], bool]], message: str) -> dict[str, str]:
    """The position in a cursor, every field present and passing its test; MalformedRequestError(message) if not."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise MalformedRequestError(message) from None
    if not isinstance(data, dict) or set(data) != set(fields):
        raise MalformedRequestError(message)
    for name, valid in fields.items():
        value = data[name]
        if not isinstance(value, str) or not valid(value):
            raise MalformedRequestError(message)
    return data
