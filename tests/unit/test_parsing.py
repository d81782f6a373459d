"""Request bodies -> raw answers, for each content type, within limits, with a specific error otherwise."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import MalformedRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from chalicelib.intake.parsing import Limits, media_type, parse_body, storable_number

LIMITS = Limits(max_body_bytes=4096, max_fields=20, max_depth=4, max_field_chars=100)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def form(body: str | bytes) -> dict[str, object]:
    return parse_body(FORM, body.encode() if isinstance(body, str) else body, LIMITS).values


def as_json(body: str | bytes) -> dict[str, object]:
    parsed = parse_body(JSON, body.encode() if isinstance(body, str) else body, LIMITS)
    assert parsed.is_json
    return parsed.values


def multipart(parts: list[tuple[str, str]], boundary: str = "xyz") -> bytes:
    chunks = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
              for name, value in parts]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


# --- urlencoded ---------------------------------------------------------------------------------

def test_urlencoded_values_are_lists_of_decoded_text() -> None:
    parsed = parse_body(FORM, b"name=Ann+Lee&email=ann%40example.com&city=M%C3%BCnchen", LIMITS)
    assert not parsed.is_json
    assert parsed.values == {"name": ["Ann Lee"], "email": ["ann@example.com"], "city": ["München"]}


def test_repeated_keys_and_php_brackets_collect_into_one_list() -> None:
    assert form("features=prices&features[]=support&features=website") == {
        "features": ["prices", "support", "website"]}


def test_blank_values_are_kept_for_validation_to_judge() -> None:
    assert form("name=&reason=") == {"name": [""], "reason": [""]}


@pytest.mark.parametrize("body", ["", "   ", "\r\n"])
def test_empty_form_body_has_no_answers(body: str) -> None:
    assert form(body) == {}


def test_field_without_a_name_is_malformed() -> None:
    with pytest.raises(MalformedRequestError, match="without a name"):
        form("=value")


@pytest.mark.parametrize("body", [b"name=\xff", b"name=%FF", b"na%C3me=x"])
def test_invalid_utf8_in_form_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedRequestError, match="not valid UTF-8"):
        form(body)


def test_too_many_form_fields_is_413_naming_the_limit() -> None:
    with pytest.raises(PayloadTooLargeError, match="More than 20 fields"):
        form("&".join(f"f{i}=1" for i in range(21)))
    assert len(form("&".join(f"f{i}=1" for i in range(20)))) == 20


def test_long_form_field_is_413_naming_the_field() -> None:
    with pytest.raises(PayloadTooLargeError, match="'message' is 101 characters; at most 100"):
        form("message=" + "x" * 101)
    assert form("message=" + "x" * 100) == {"message": ["x" * 100]}


def test_body_over_the_limit_is_413_before_any_parsing() -> None:
    with pytest.raises(PayloadTooLargeError, match="4,097 bytes; this form accepts at most 4,096"):
        parse_body("image/png", b"x" * 4097, LIMITS)


# --- content types ------------------------------------------------------------------------------

def test_media_type_is_case_insensitive_with_parameters() -> None:
    assert media_type('Multipart/Form-Data; Boundary="abc"') == ("multipart/form-data", {"boundary": "abc"})
    assert media_type(None) == ("", {})
    assert as_json(b'{"a": 1}') == parse_body("Application/JSON; Charset=UTF-8", b'{"a": 1}', LIMITS).values


def test_json_suffix_types_are_read_as_json() -> None:
    assert parse_body("application/problem+json", b'{"a": 1}', LIMITS).is_json


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "utf-16", "windows-1251", ""])
def test_charsets_other_than_utf8_are_415(charset: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="send UTF-8"):
        parse_body(f"{FORM}; charset={charset}", b"name=Ann", LIMITS)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", "us-ascii"])
def test_utf8_and_ascii_charsets_are_read(charset: str) -> None:
    assert form("name=Ann") == parse_body(f"{FORM}; charset={charset}", b"name=Ann", LIMITS).values


def test_json_sent_as_text_plain_gets_a_hint() -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="Content-Type: application/json"):
        parse_body("text/plain", b' {"name": "Ann"}', LIMITS)


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/xml", "image/png"])
def test_other_types_are_415_listing_what_is_accepted(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        parse_body(content_type, b"name=Ann", LIMITS)
    assert "application/x-www-form-urlencoded, multipart/form-data, application/json" in caught.value.message


# --- multipart ----------------------------------------------------------------------------------

def test_multipart_text_parts_become_lists() -> None:
    body = multipart([("name", "Ann"), ("features[]", "prices"), ("features[]", "support"),
                      ("note", "line 1\r\nline 2")])
    values = parse_body("multipart/form-data; boundary=xyz", body, LIMITS).values
    assert values == {"name": ["Ann"], "features": ["prices", "support"], "note": ["line 1\r\nline 2"]}


def test_multipart_needs_a_boundary() -> None:
    with pytest.raises(MalformedRequestError, match="needs a boundary"):
        parse_body("multipart/form-data", multipart([("name", "Ann")]), LIMITS)


def test_multipart_file_part_is_415_naming_the_field() -> None:
    body = (b'--xyz\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF\r\n--xyz--\r\n")
    with pytest.raises(UnsupportedMediaTypeError, match="File uploads are not accepted \\(field 'cv'\\)"):
        parse_body("multipart/form-data; boundary=xyz", body, LIMITS)


@pytest.mark.parametrize("body, message", [
    (b"--xyz\r\nnot a header\r\n\r\nAnn\r\n--xyz--\r\n", "multipart body cannot be read"),
    (b"--xyz\r\nContent-Type: text/plain\r\n\r\nAnn\r\n--xyz--\r\n", "no Content-Disposition"),
    (b'--xyz\r\nContent-Disposition: form-data\r\n\r\nAnn\r\n--xyz--\r\n', "without a name"),
    (b'--xyz\r\nContent-Disposition: form-data; name="n"\r\n\r\nA\xffn\r\n--xyz--\r\n', "not valid UTF-8"),
])
def test_malformed_multipart_is_400(body: bytes, message: str) -> None:
    with pytest.raises(MalformedRequestError, match=message):
        parse_body("multipart/form-data; boundary=xyz", body, LIMITS)


def test_too_many_multipart_parts_is_413() -> None:
    with pytest.raises(PayloadTooLargeError, match="More than 20 fields"):
        parse_body("multipart/form-data; boundary=xyz", multipart([(f"f{i}", "1") for i in range(21)]), LIMITS)


# --- JSON ---------------------------------------------------------------------------------------

def test_json_keeps_its_types() -> None:
    assert as_json('{"nps": 9, "score": 2.5, "ok": true, "tags": ["a"], "none": null, "deep": {"x": 1}}') == {
        "nps": 9, "score": 2.5, "ok": True, "tags": ["a"], "none": None, "deep": {"x": 1}}


@pytest.mark.parametrize("body, message", [
    ('{"a": NaN}', "NaN is not valid JSON"),
    ('{"a": Infinity}', "Infinity is not valid JSON"),
    ('{"a": -Infinity}', "-Infinity is not valid JSON"),
    ('{"a": 1e400}', "out of range"),
    ('{"a": -1e400}', "out of range"),
    ('{"a": 1e-200}', "out of range"),
    ('{"a": ' + "9" * 39 + "}", "more than 38 digits"),
    ('{"a": -' + "9" * 39 + "}", "more than 38 digits"),
    ('{"a": 1, "a": 2}', "'a' twice"),
    ('{"x": {"b": 1, "b": 1}}', "'b' twice"),
    ('{"": 1}', "empty key"),
    ('{"a": "\\ud800"}', "unpaired surrogate"),
    ('{"a": 1,}', "not valid JSON"),
    ("", "not valid JSON"),
    ("[]", "must be an object"),
    ('"text"', "must be an object"),
    ("7", "must be an object"),
    ("null", "must be an object"),
])
def test_json_that_cannot_be_stored_faithfully_is_400(body: str, message: str) -> None:
    with pytest.raises(MalformedRequestError, match=message):
        as_json(body)


def test_largest_storable_numbers_are_accepted() -> None:
    assert as_json('{"a": ' + "9" * 38 + ', "b": 1e125, "c": 1e-129, "d": 0.0, "e": -0}') == {
        "a": int("9" * 38), "b": 1e125, "c": 1e-129, "d": 0.0, "e": 0}


def test_json_with_a_byte_order_mark_is_read() -> None:
    assert as_json(b'\xef\xbb\xbf{"name": "Ann"}') == {"name": "Ann"}


def test_invalid_utf8_json_is_400() -> None:
    with pytest.raises(MalformedRequestError, match="not valid UTF-8"):
        as_json(b'{"a": "\xc3\x28"}')


def test_json_nesting_is_limited_but_brackets_in_strings_do_not_count() -> None:
    with pytest.raises(PayloadTooLargeError, match="nested more than 4 levels"):
        as_json('{"a": [[[[1]]]]}')
    assert as_json('{"a": [[["[[[[[[{{{{"]]]}') == {"a": [[["[[[[[[{{{{"]]]}


def test_json_string_length_and_value_count_are_limited() -> None:
    with pytest.raises(PayloadTooLargeError, match="101 characters"):
        as_json('{"a": "' + "x" * 101 + '"}')
    with pytest.raises(PayloadTooLargeError, match="More than 20 values"):
        as_json('{"a": [' + ",".join(["1"] * 21) + "]}")
    with pytest.raises(PayloadTooLargeError, match="More than 20 fields"):
        as_json('{"a": {' + ",".join(f'"k{i}": 1' for i in range(21)) + "}}")


@pytest.mark.parametrize("value, storable", [
    (0, True), (10**37, True), (-(10**37), True), (10**38, False), (1.5, True), (1e126, False), (1e-130, False),
    (0.0, True),
])
def test_storable_number_follows_dynamodb_limits(value: float, storable: bool) -> None:
    assert storable_number(value) is storable
