"""Request bodies -> raw answers, for each content type, within limits, with a specific error otherwise."""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.errors import MalformedRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from chalicelib.intake.parsing import Limits, form_pairs, media_type, parse_body, storable_number

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


# --- limits: at, one below and one above ----------------------------------------------------------

def test_body_exactly_at_the_byte_limit_is_read() -> None:
    body = ("message=" + "x" * 92).encode()  # 100 bytes
    tight = Limits(max_body_bytes=100, max_fields=20, max_depth=4, max_field_chars=100)
    assert parse_body(FORM, body, tight).values == {"message": ["x" * 92]}
    assert parse_body(FORM, body[:-1], tight).values == {"message": ["x" * 91]}
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_body(FORM, body + b"x", tight)
    assert caught.value.message == "The request body is 101 bytes; this form accepts at most 100."
    assert caught.value.STATUS_CODE == 413


def test_form_fields_at_one_below_and_one_above_the_limit() -> None:
    assert len(form("&".join(f"f{i}=1" for i in range(19)))) == 19
    assert len(form("&".join(f"f{i}=1" for i in range(20)))) == 20
    with pytest.raises(PayloadTooLargeError) as caught:
        form("&".join(f"f{i}=1" for i in range(21)))
    assert caught.value.message == "More than 20 fields were posted."


def test_form_field_characters_at_one_below_and_one_above_the_limit() -> None:
    assert form("message=" + "é" * 99) == {"message": ["é" * 99]}
    assert form("message=" + "é" * 100) == {"message": ["é" * 100]}  # characters, not bytes
    with pytest.raises(PayloadTooLargeError) as caught:
        form("message=" + "é" * 101)
    assert caught.value.message == "Field 'message' is 101 characters; at most 100 are accepted."


def test_long_field_message_groups_thousands() -> None:
    roomy = Limits(max_body_bytes=100_000, max_fields=20, max_depth=4, max_field_chars=20_000)
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_body(FORM, b"message=" + b"x" * 20_001, roomy)
    assert caught.value.message == "Field 'message' is 20,001 characters; at most 20,000 are accepted."
    with pytest.raises(PayloadTooLargeError) as body:
        parse_body(FORM, b"x" * 100_001, roomy)
    assert body.value.message == "The request body is 100,001 bytes; this form accepts at most 100,000."


def test_multipart_parts_at_the_limit_are_read() -> None:
    values = parse_body("multipart/form-data; boundary=xyz", multipart([(f"f{i}", "1") for i in range(20)]), LIMITS)
    assert len(values.values) == 20
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_body("multipart/form-data; boundary=xyz", multipart([(f"f{i}", "1") for i in range(21)]), LIMITS)
    assert caught.value.message == "More than 20 fields were posted."


def test_multipart_field_characters_are_limited_naming_the_field() -> None:
    assert parse_body("multipart/form-data; boundary=xyz", multipart([("note", "x" * 100)]), LIMITS).values == {
        "note": ["x" * 100]}
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_body("multipart/form-data; boundary=xyz", multipart([("note", "x" * 101)]), LIMITS)
    assert caught.value.message == "Field 'note' is 101 characters; at most 100 are accepted."


def test_json_values_and_fields_at_one_below_and_one_above_the_limit() -> None:
    # Every key and every array item counts: {"a": [19 items]} is 20 values.
    assert as_json('{"a": [' + ",".join(["1"] * 19) + "]}") == {"a": [1] * 19}
    with pytest.raises(PayloadTooLargeError) as values:
        as_json('{"a": [' + ",".join(["1"] * 20) + "]}")
    assert values.value.message == "More than 20 values were posted."
    assert len(as_json("{" + ",".join(f'"k{i}": 1' for i in range(20)) + "}")) == 20
    with pytest.raises(PayloadTooLargeError) as fields:
        as_json("{" + ",".join(f'"k{i}": 1' for i in range(21)) + "}")
    assert fields.value.message == "More than 20 fields were posted."
    assert len(as_json("{" + ",".join(f'"k{i}": 1' for i in range(19)) + "}")) == 19


def test_json_fields_are_counted_across_nested_objects() -> None:
    nested = '{"a": {' + ",".join(f'"k{i}": 1' for i in range(18)) + '}, "b": 1}'  # 1 + 18 + 1 = 20
    assert as_json(nested)["a"] == {f"k{i}": 1 for i in range(18)}
    with pytest.raises(PayloadTooLargeError, match="More than 20 fields"):
        as_json('{"a": {' + ",".join(f'"k{i}": 1' for i in range(19)) + '}, "b": 1}')


def test_json_string_characters_at_one_below_and_one_above_the_limit() -> None:
    assert as_json('{"a": "' + "x" * 99 + '"}') == {"a": "x" * 99}
    assert as_json('{"a": "' + "x" * 100 + '"}') == {"a": "x" * 100}
    with pytest.raises(PayloadTooLargeError) as caught:
        as_json('{"a": "' + "x" * 101 + '"}')
    assert caught.value.message == "A string of 101 characters was posted; at most 100 are accepted."


def test_json_keys_are_strings_within_the_same_limits() -> None:
    with pytest.raises(PayloadTooLargeError, match="101 characters"):
        as_json('{"' + "k" * 101 + '": 1}')
    with pytest.raises(MalformedRequestError) as caught:
        as_json('{"\\udc00": 1}')
    assert caught.value.message == "The JSON body contains an unpaired surrogate (\\ud800-\\udfff)."
    assert as_json('{"' + "k" * 100 + '": "\\ud83d\\ude00"}') == {"k" * 100: "\U0001f600"}


def test_json_strings_nested_in_arrays_are_checked() -> None:
    with pytest.raises(PayloadTooLargeError, match="101 characters"):
        as_json('{"a": [["' + "x" * 101 + '"]]}')
    with pytest.raises(MalformedRequestError, match="unpaired surrogate"):
        as_json('{"a": [{"b": "\\ud800"}]}')


# --- JSON depth ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, depth", [
    ('{"a": 1}', 1),
    ('{"a": [1]}', 2),
    ('{"a": [[1]]}', 3),
    ('{"a": [[[1]]]}', 4),
    ('{"a": [{"b": [1]}]}', 4),
    ('{"a": {"b": {"c": {"d": 1}}}}', 4),
    # Siblings do not add up: each closing bracket ends a level.
    ('{"a": [[[1]]], "b": [[[2]]], "c": [[[3]]], "d": {"e": {"f": 1}}}', 4),
    ('{"a": [[1], [2], [3], [4], [5], [6]]}', 3),
    ('{"a": {"b": {"c": 1}}, "d": {"e": {"f": 1}}, "g": {"h": {"i": 1}}}', 3),
    # Brackets and escaped quotes inside strings are text.
    ('{"a": "[[[[{{{{", "b": "\\"[[[[[", "c": "\\\\", "d": [[["x\\\\"]]]}', 4),
])
def test_json_nesting_up_to_the_limit_is_read(body: str, depth: int) -> None:
    assert isinstance(as_json(body), dict)


@pytest.mark.parametrize("body", [
    '{"a": [[[[1]]]]}',
    '{"a": {"b": {"c": {"d": {"e": 1}}}}}',
    '{"a": [[1]], "b": [[[[5]]]]}',
    '{"a": [[1], [[[5]]]]}',  # a closing bracket ends one level, not all of them
    '{"a": {"b": {"c": 1}, "d": {"e": {"f": {"g": 5}}}}}',
    '{"a": "\\\\", "b": [[[[5]]]]}',  # an escaped backslash does not escape the closing quote
    '{"a": "\\"", "b": [[[[5]]]]}',
])
def test_json_nested_one_level_too_deep_is_413(body: str) -> None:
    with pytest.raises(PayloadTooLargeError) as caught:
        as_json(body)
    assert caught.value.message == "The JSON body is nested more than 4 levels deep."


def test_json_depth_is_checked_before_parsing() -> None:
    # A deeply nested body is refused as too deep, not parsed (Python's parser would recurse).
    with pytest.raises(PayloadTooLargeError, match="nested more than 4 levels"):
        as_json('{"a": ' + "[" * 2000 + "]" * 2000 + "}")
    with pytest.raises(PayloadTooLargeError, match="nested more than 4 levels"):
        as_json("[" * 5)


# --- exact numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-1", -1), ("0", 0), ("1.0", 1.0), ("1e3", 1000.0), ("1E3", 1000.0), ("-2.5e-3", -0.0025),
    ("9" * 38, int("9" * 38)), ("-" + "9" * 38, -int("9" * 38)), ("1e125", 1e125), ("-1e125", -1e125),
    ("1e-129", 1e-129), ("-1e-129", -1e-129),
])
def test_json_numbers_keep_their_exact_type(text: str, value: float) -> None:
    parsed = as_json('{"n": ' + text + "}")["n"]
    assert parsed == value
    assert type(parsed) is type(value)


def test_json_booleans_are_not_numbers() -> None:
    parsed = as_json('{"t": true, "f": false, "one": 1}')
    assert parsed["t"] is True and parsed["f"] is False and type(parsed["one"]) is int


@pytest.mark.parametrize("text", ["1e126", "-1e126", "1e-130", "1.5e200"])
def test_json_floats_just_outside_dynamodb_range_are_400(text: str) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        as_json('{"n": ' + text + "}")
    assert caught.value.message == f"The number {text} is out of range."


def test_out_of_range_number_message_shows_its_first_40_characters() -> None:
    text = "1." + "0" * 45 + "e400"
    with pytest.raises(MalformedRequestError) as caught:
        as_json('{"n": ' + text + "}")
    assert caught.value.message == f"The number {text[:40]} is out of range."


def test_too_many_digits_message_shows_the_first_20() -> None:
    with pytest.raises(MalformedRequestError) as caught:
        as_json('{"n": ' + "1234567890" * 4 + "}")
    assert caught.value.message == "The number 12345678901234567890… has more than 38 digits."


@pytest.mark.parametrize("value, storable", [
    (int("9" * 38), True), (-int("9" * 38), True), (10**38, False), (-(10**38), False),
    (1e125, True), (-1e125, True), (1.0000001e125, False), (1e-129, True), (-1e-129, True), (9.99e-130, False),
    (-0.0, True), (True, True),
])
def test_storable_number_at_its_edges(value: float, storable: bool) -> None:
    assert storable_number(value) is storable


# --- messages, edge cases of each content type -------------------------------------------------

def test_json_messages_name_the_problem() -> None:
    with pytest.raises(MalformedRequestError) as empty:
        as_json('{"": 1}')
    assert empty.value.message == "The JSON body has an empty key; every field needs a name."
    with pytest.raises(MalformedRequestError) as twice:
        as_json('{"a": 1, "a": 1}')
    assert twice.value.message == "The JSON body has the key 'a' twice; send each field once."
    with pytest.raises(MalformedRequestError) as constant:
        as_json('{"a": NaN}')
    assert constant.value.message == "NaN is not valid JSON; send numbers only."
    with pytest.raises(MalformedRequestError) as listed:
        as_json("[1]")
    assert listed.value.message == 'The JSON body must be an object of answers, e.g. {"email": "…"}.'
    with pytest.raises(MalformedRequestError) as utf8:
        as_json(b'{"a": "\xff"}')
    assert utf8.value.message == "The JSON body is not valid UTF-8."
    with pytest.raises(MalformedRequestError) as broken:
        as_json('{"a": }')
    assert broken.value.message.startswith("The body is not valid JSON: Expecting value: line 1 column 7")


def test_form_messages_name_the_problem() -> None:
    with pytest.raises(MalformedRequestError) as nameless:
        form("=1")
    assert nameless.value.message == "A field without a name was posted."
    with pytest.raises(MalformedRequestError) as raw:
        form(b"name=\xff")
    assert raw.value.message == "The form body is not valid UTF-8."
    with pytest.raises(MalformedRequestError) as decoded:
        form("name=%FF")
    assert decoded.value.message == "A form field is not valid UTF-8 after %-decoding."


def test_a_bare_or_empty_form_pair_is_read_leniently() -> None:
    # `consent` without `=` is what some scripts post for an unchecked box; `&&` is harmless.
    assert form("name=Ann&consent&&topic=idea&") == {"name": ["Ann"], "consent": [""], "topic": ["idea"]}
    assert form("a=1;b=2") == {"a": ["1;b=2"]}


def test_php_brackets_only_at_the_end_of_a_name_are_dropped() -> None:
    assert form("a[]=1&b[]x=2") == {"a": ["1"], "b[]x": ["2"]}
    with pytest.raises(MalformedRequestError, match="without a name"):
        form("[]=3")


def test_multipart_messages_name_the_problem() -> None:
    with pytest.raises(MalformedRequestError) as boundary:
        parse_body("multipart/form-data", b"", LIMITS)
    assert boundary.value.message == "multipart/form-data needs a boundary parameter in Content-Type."
    missing = b"--xyz\r\nContent-Type: text/plain\r\n\r\nAnn\r\n--xyz--\r\n"
    with pytest.raises(MalformedRequestError) as disposition:
        parse_body("multipart/form-data; boundary=xyz", missing, LIMITS)
    assert disposition.value.message == "A multipart part has no Content-Disposition header."
    bad_name = b'--xyz\r\nContent-Disposition: form-data; name="\xff"\r\n\r\nAnn\r\n--xyz--\r\n'
    with pytest.raises(MalformedRequestError) as name:
        parse_body("multipart/form-data; boundary=xyz", bad_name, LIMITS)
    assert name.value.message == "A multipart field name is not valid UTF-8."
    bad_value = b'--xyz\r\nContent-Disposition: form-data; name="note"\r\n\r\nA\xffn\r\n--xyz--\r\n'
    with pytest.raises(MalformedRequestError) as value:
        parse_body("multipart/form-data; boundary=xyz", bad_value, LIMITS)
    assert value.value.message == "Field 'note' is not valid UTF-8."


def test_multipart_headers_are_matched_case_insensitively_and_kept_apart() -> None:
    body = (b'--xyz\r\ncontent-disposition: form-data; name="name"\r\nContent-Type: text/plain\r\n\r\nAnn\r\n'
            b'--xyz\r\nCONTENT-DISPOSITION: form-data; name="city"\r\n\r\nM\xc3\xbcnchen\r\n--xyz--\r\n')
    assert parse_body("multipart/form-data; boundary=xyz", body, LIMITS).values == {
        "name": ["Ann"], "city": ["München"]}


def test_multipart_with_no_parts_has_no_answers() -> None:
    assert parse_body("multipart/form-data; boundary=xyz", b"--xyz--\r\n", LIMITS).values == {}


def test_only_json_bodies_are_marked_as_json() -> None:
    # A browser's form post is answered with a redirect, a JSON client's with JSON.
    assert parse_body(FORM, b"name=Ann", LIMITS).is_json is False
    assert parse_body("multipart/form-data; boundary=xyz", multipart([("name", "Ann")]), LIMITS).is_json is False
    assert parse_body(JSON, b'{"name": "Ann"}', LIMITS).is_json is True


def test_json_suffix_needs_the_application_tree() -> None:
    with pytest.raises(UnsupportedMediaTypeError):
        parse_body("text/ld+json", b'{"a": 1}', LIMITS)
    with pytest.raises(UnsupportedMediaTypeError):
        parse_body("application/jsonx", b'{"a": 1}', LIMITS)
    assert parse_body("application/vnd.api+json", b'{"a": 1}', LIMITS).values == {"a": 1}


def test_text_plain_that_is_not_json_gets_the_list_of_accepted_types() -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        parse_body("text/plain", b"name=Ann", LIMITS)
    assert caught.value.message == ("text/plain is not supported; send one of application/x-www-form-urlencoded, "
                                    "multipart/form-data, application/json.")
    with pytest.raises(UnsupportedMediaTypeError) as array:
        parse_body("text/plain", b"\n[1]", LIMITS)
    assert array.value.message == (
        "The body looks like JSON but was sent as text/plain; send it with Content-Type: application/json.")
    with pytest.raises(UnsupportedMediaTypeError) as none:
        parse_body(None, b"", LIMITS)
    assert none.value.message.startswith("no content type is not supported")


def test_charset_message_names_the_charset() -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        parse_body(f"{FORM}; charset=Latin-1", b"name=Ann", LIMITS)
    assert caught.value.message == "Charset 'latin-1' is not supported; send UTF-8."
    assert caught.value.STATUS_CODE == 415


def test_media_type_keeps_parameter_values_as_sent() -> None:
    assert media_type("multipart/form-data; boundary=AbC") == ("multipart/form-data", {"boundary": "AbC"})
    assert media_type("") == ("", {})


_ESCAPES = st.sampled_from(["%20", "%2B", "%26", "%3D", "%C3%A9", "%E2%82%AC", "%ff", "%C3", "%zz", "%", "%4"])
_PIECES = st.one_of(st.sampled_from(["&", "=", "+", "&&", "==", "a", "b[]", "Ann", " "]), _ESCAPES,
                    st.text(max_size=3))


@given(st.lists(_PIECES, max_size=30).map("".join), st.integers(min_value=1, max_value=12))
def test_form_pairs_reads_a_body_exactly_as_parse_qsl_does(text: str, max_fields: int) -> None:
    def outcome(read: Callable[[], list[tuple[str, str]]]) -> object:
        try:
            return read()
        except (ValueError, UnicodeDecodeError) as exc:  # UnicodeDecodeError is a ValueError: keep them apart
            return type(exc)
    ours = outcome(lambda: form_pairs(text, max_fields))
    stdlib = outcome(lambda: parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                                       errors="strict", max_num_fields=max_fields))
    assert ours == stdlib
