"""Request bodies -> raw answers: urlencoded, multipart (text parts) and JSON, within limits."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.core.errors import MalformedRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPE = "application/json"
ACCEPTED_TYPES = ", ".join((*FORM_TYPES, JSON_TYPE))


@dataclass(frozen=True)
class Limits:
    """Caps on what one request may carry."""

    max_body_bytes: int
    max_fields: int
    max_depth: int
    max_field_chars: int


@dataclass(frozen=True)
class ParsedBody:
    """A request body read into values: lists of strings for form posts, any JSON for JSON."""

    values: dict[str, Any]
    is_json: bool


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """The lower-cased media type and its parameters."""
    if not content_type:
        return "", {}
    if not content_type.isascii() and any(ord(c) > 0xFF for c in content_type):
        # An HTTP header is Latin-1 at most; python-multipart could not even encode this one (a 500 before).
        raise UnsupportedMediaTypeError(
            f"The Content-Type header holds characters no media type has; send one of {ACCEPTED_TYPES}.")
    if ";" not in content_type:
        # What parse_options_header gives a type without parameters (the usual form post), without importing
        # python-multipart (and tempfile, shutil...) on a cold start that never reads a multipart body.
        return content_type.lower().strip(" \t"), {}
    from python_multipart.multipart import parse_options_header
    mime, params = parse_options_header(content_type)
    return (mime.decode("latin-1").lower(),
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in params.items()})


def parse_body(content_type: str | None, body: bytes, limits: Limits) -> ParsedBody:
    """Read a body by its content type; raise a specific 4xx error when it cannot be read."""
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLargeError(
            f"The request body is {len(body):,} bytes; this form accepts at most {limits.max_body_bytes:,}.")
    mime, params = media_type(content_type)
    charset = params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8", "us-ascii"):
        raise UnsupportedMediaTypeError(f"Charset {charset!r} is not supported; send UTF-8.")
    if mime == JSON_TYPE or (mime.startswith("application/") and mime.endswith("+json")):
        return ParsedBody(_parse_json(body, limits), is_json=True)
    if mime == "application/x-www-form-urlencoded":
        return ParsedBody(_parse_urlencoded(body, limits), is_json=False)
    if mime == "multipart/form-data":
        return ParsedBody(_parse_multipart(body, params.get("boundary"), limits), is_json=False)
    if mime == "text/plain" and body.lstrip()[:1] in (b"{", b"["):
        raise UnsupportedMediaTypeError(
            "The body looks like JSON but was sent as text/plain; send it with Content-Type: application/json.")
    shown = mime or "no content type"
    raise UnsupportedMediaTypeError(f"{shown} is not supported; send one of {ACCEPTED_TYPES}.")


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequestError(f"{what} is not valid UTF-8.") from None


def _field_name(key: str) -> str:
    # PHP-style `features[]` posts the same field as plain repeated `features`.
    return key[:-2] if key.endswith("[]") else key


def _add(values: dict[str, list[str]], key: str, value: str, limits: Limits) -> None:
    name = _field_name(key)
    if not name:
        raise MalformedRequestError("A field without a name was posted.")
    if len(value) > limits.max_field_chars:
        raise PayloadTooLargeError(
            f"Field {name!r} is {len(value):,} characters; at most {limits.max_field_chars:,} are accepted.")
    values.setdefault(name, []).append(value)


def _unquote(text: str) -> str:
    # What parse_qsl does to each name and value (unquote_plus), without its calls when there is no escape.
    return unquote_plus(text, errors="strict") if "%" in text else text.replace("+", " ")


def form_pairs(text: str, max_fields: int) -> list[tuple[str, str]]:
    """parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields, errors="strict"), pair for pair
    (a property test compares the two), in one loop: a post's ten fields cost a tenth of the stdlib's calls.
    ValueError when there are more fields than allowed; UnicodeDecodeError for an escape that is not UTF-8."""
    if not text:
        return []
    if text.count("&") + 1 > max_fields:
        raise ValueError("Max number of fields exceeded")
    pairs: list[tuple[str, str]] = []
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append((_unquote(name), _unquote(value)))
    return pairs


def _parse_urlencoded(body: bytes, limits: Limits) -> dict[str, list[str]]:
    text = _decode(body, "The form body")
    values: dict[str, list[str]] = {}
    if not text.strip():
        return values
    try:
        pairs = form_pairs(text, limits.max_fields)
    except UnicodeDecodeError:
        raise MalformedRequestError("A form field is not valid UTF-8 after %-decoding.") from None
    except ValueError:
        raise PayloadTooLargeError(f"More than {limits.max_fields} fields were posted.") from None
    for key, value in pairs:
        _add(values, key, value, limits)
    return values


def _parse_multipart(body: bytes, boundary: str | None, limits: Limits) -> dict[str, list[str]]:
    if not boundary:
        raise MalformedRequestError("multipart/form-data needs a boundary parameter in Content-Type.")
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header
    parts: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        nonlocal current
        current = {"headers": {}, "data": bytearray()}
        parts.append(current)
        if len(parts) > limits.max_fields:
            raise PayloadTooLargeError(f"More than {limits.max_fields} fields were posted.")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        current["headers"][bytes(header_field).decode("latin-1").lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"].extend(data[start:end])

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data,
    })
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise MalformedRequestError(f"The multipart body cannot be read: {exc}.") from None
    values: dict[str, list[str]] = {}
    for part in parts:
        disposition = part["headers"].get("content-disposition")
        if disposition is None:
            raise MalformedRequestError("A multipart part has no Content-Disposition header.")
        _, options = parse_options_header(disposition)
        name = _decode(options.get(b"name", b""), "A multipart field name")
        if b"filename" in options:
            if not options[b"filename"] and not part["data"]:
                # An optional <input type="file"> left empty: every browser still sends its part, with no name
                # and no bytes. Nothing was uploaded, so there is nothing to refuse.
                continue
            raise UnsupportedMediaTypeError(
                f"File uploads are not accepted (field {name!r}); remove the file input from the form.")
        _add(values, name, _decode(bytes(part["data"]), f"Field {name!r}"), limits)
    return values


def _json_depth(body: bytes) -> int:
    """The deepest nesting of objects and arrays, found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return deepest


# DynamoDB numbers hold 38 significant digits between 1E-130 and 1E+126.
_MAX_DIGITS = 38
_MAX_MAGNITUDE = 1e125
_MIN_MAGNITUDE = 1e-129


def storable_number(value: float | int) -> bool:
    """Whether DynamoDB can store a number exactly as sent."""
    if isinstance(value, int):
        return len(str(abs(value))) <= _MAX_DIGITS
    return value == 0 or _MIN_MAGNITUDE <= abs(value) <= _MAX_MAGNITUDE


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise MalformedRequestError(f"The number {text[:20]}… has more than {_MAX_DIGITS} digits.")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not storable_number(value):
        raise MalformedRequestError(f"The number {text[:40]} is out of range.")
    return value


def _reject_constant(name: str) -> Any:
    raise MalformedRequestError(f"{name} is not valid JSON; send numbers only.")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if not key:
            raise MalformedRequestError("The JSON body has an empty key; every field needs a name.")
        if key in obj:
            raise MalformedRequestError(f"The JSON body has the key {key!r} twice; send each field once.")
        obj[key] = value
    return obj


def _check_strings(value: Any, limits: Limits, counter: list[int]) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRequestError("The JSON body contains an unpaired surrogate (\\ud800-\\udfff).") from None
        if len(value) > limits.max_field_chars:
            raise PayloadTooLargeError(f"A string of {len(value):,} characters was posted; "
                                       f"at most {limits.max_field_chars:,} are accepted.")
    elif isinstance(value, dict):
        for key, item in value.items():
            counter[0] += 1
            if counter[0] > limits.max_fields:
                raise PayloadTooLargeError(f"More than {limits.max_fields} fields were posted.")
            _check_strings(key, limits, counter)
            _check_strings(item, limits, counter)
    elif isinstance(value, list):
        for item in value:
            counter[0] += 1
            if counter[0] > limits.max_fields:
                raise PayloadTooLargeError(f"More than {limits.max_fields} values were posted.")
            _check_strings(item, limits, counter)


def _parse_json(body: bytes, limits: Limits) -> dict[str, Any]:
    # RFC 8259 lets a parser ignore a byte order mark; some Windows tools send one.
    text = _decode(body, "The JSON body").removeprefix("\ufeff")
    if _json_depth(body) > limits.max_depth:
        raise PayloadTooLargeError(f"The JSON body is nested more than {limits.max_depth} levels deep.")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant,
                           parse_int=_parse_int, parse_float=_parse_float)
    except ValueError as exc:
        raise MalformedRequestError(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise MalformedRequestError("The JSON body must be an object of answers, e.g. {\"email\": \"…\"}.")
    _check_strings(value, limits, [0])
    return value


def parse_small_body(content_type: str | None, body: bytes, limits: Limits) -> ParsedBody:
    """Read the small body of a non-submit route (a token, a code, an address) with the submit path's limits.

    An empty body is no fields; text/plain (a CORS-simple `fetch`) is read as urlencoded, as it always was.
    """
    if not body.strip():
        return ParsedBody({}, is_json=False)
    mime, params = media_type(content_type)
    if mime == "text/plain":
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8", "us-ascii"):
            raise UnsupportedMediaTypeError(f"Charset {charset!r} is not supported; send UTF-8.")
        if len(body) > limits.max_body_bytes:
            raise PayloadTooLargeError(
                f"The request body is {len(body):,} bytes; at most {limits.max_body_bytes:,} are accepted.")
        return ParsedBody(_parse_urlencoded(body, limits), is_json=False)
    return parse_body(content_type, body, limits)


def text_field(parsed: ParsedBody, name: str) -> str:
    """One text field of a parsed body: its first value, "" when absent, MalformedRequestError when not text."""
    value = parsed.values.get(name, "")
    if isinstance(value, list) and not parsed.is_json:
        return str(value[0]) if value else ""
    if not isinstance(value, str):
        raise MalformedRequestError(f"The field {name!r} must be a string, e.g. {{\"{name}\": \"…\"}}.")
    return value


def check_parameters(parameters: dict[str, str], limits: Limits) -> dict[str, str]:
    """Query-string parameters within the submit path's limits (count, length, text without NUL or surrogates)."""
    if len(parameters) > limits.max_fields:
        raise PayloadTooLargeError(f"More than {limits.max_fields} query parameters were sent.")
    for name, value in parameters.items():
        for text in (name, value):
            if len(text) > limits.max_field_chars:
                raise PayloadTooLargeError(f"The query parameter {name[:40]!r} is {len(text):,} characters; "
                                           f"at most {limits.max_field_chars:,} are accepted.")
            if "\x00" in text or any(0xD800 <= ord(char) <= 0xDFFF for char in text):
                raise MalformedRequestError(f"The query parameter {name[:40]!r} is not valid text.")
    return parameters
