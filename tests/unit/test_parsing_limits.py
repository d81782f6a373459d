"""The small bodies of token and code routes, their text fields, and query parameters: within the submit limits."""
from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from chalicelib.core.errors import MalformedRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from chalicelib.intake.parsing import (
    Limits,
    ParsedBody,
    check_parameters,
    form_pairs,
    media_type,
    parse_body,
    parse_small_body,
    text_field,
)

LIMITS = Limits(max_body_bytes=64, max_fields=3, max_depth=4, max_field_chars=10)
ROOMY = Limits(max_body_bytes=2000, max_fields=3, max_depth=4, max_field_chars=1000)
ACCEPTED = "application/x-www-form-urlencoded, multipart/form-data, application/json"
NOTHING = ParsedBody({}, is_json=False)


# --- parse_small_body: empty bodies ---------------------------------------------------------------

@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/json", "image/png"])
@pytest.mark.parametrize("body", [b"", b" ", b"\r\n\t"])
def test_an_empty_small_body_is_no_fields_whatever_its_type(content_type: str | None, body: bytes) -> None:
    # A link's POST with nothing in it (a one-click confirm) carries no Content-Type at all.
    assert parse_small_body(content_type, body, LIMITS) == NOTHING


# --- parse_small_body: text/plain, a CORS-simple fetch ----------------------------------------------

@pytest.mark.parametrize("content_type", [
    "text/plain", "Text/Plain", "text/plain; charset=utf-8", "text/plain; charset=UTF-8", "text/plain; charset=utf8",
    "text/plain; charset=us-ascii", "text/plain; charset=US-ASCII",
])
def test_text_plain_is_read_as_urlencoded_in_utf8(content_type: str) -> None:
    parsed = parse_small_body(content_type, b"token=a+b%21&code=12", LIMITS)
    assert parsed == ParsedBody({"token": ["a b!"], "code": ["12"]}, is_json=False)


@pytest.mark.parametrize("charset, shown", [("latin-1", "latin-1"), ("ISO-8859-1", "iso-8859-1"),
                                            ("utf-16", "utf-16"), ("", "")])
def test_text_plain_in_another_charset_is_415_naming_it(charset: str, shown: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        parse_small_body(f"text/plain; charset={charset}", b"token=abc", LIMITS)
    assert caught.value.STATUS_CODE == 415
    assert caught.value.message == f"Charset {shown!r} is not supported; send UTF-8."


def test_text_plain_body_at_the_byte_limit_is_read_and_one_past_it_is_413() -> None:
    at_limit = b"token=" + b"x" * 58  # 64 bytes, every one of them the field's
    tight = Limits(max_body_bytes=64, max_fields=3, max_depth=4, max_field_chars=100)
    assert parse_small_body("text/plain", at_limit[:-1], tight).values == {"token": ["x" * 57]}
    assert parse_small_body("text/plain", at_limit, tight).values == {"token": ["x" * 58]}
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_small_body("text/plain", at_limit + b"x", tight)
    assert caught.value.STATUS_CODE == 413
    assert caught.value.message == "The request body is 65 bytes; at most 64 are accepted."


def test_text_plain_size_message_groups_thousands() -> None:
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_small_body("text/plain", b"x" * 2001, ROOMY)
    assert caught.value.message == "The request body is 2,001 bytes; at most 2,000 are accepted."


def test_text_plain_keeps_the_field_limits_of_a_form_post() -> None:
    assert parse_small_body("text/plain", b"code=" + b"x" * 10, LIMITS).values == {"code": ["x" * 10]}
    with pytest.raises(PayloadTooLargeError) as long_field:
        parse_small_body("text/plain", b"code=" + b"x" * 11, LIMITS)
    assert long_field.value.message == "Field 'code' is 11 characters; at most 10 are accepted."
    assert len(parse_small_body("text/plain", b"a=1&b=2&c=3", LIMITS).values) == 3
    with pytest.raises(PayloadTooLargeError) as many:
        parse_small_body("text/plain", b"a=1&b=2&c=3&d=4", LIMITS)
    assert many.value.message == "More than 3 fields were posted."


def test_text_plain_with_bytes_that_are_not_utf8_is_400() -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse_small_body("text/plain", b"token=\xff", LIMITS)
    assert caught.value.STATUS_CODE == 400
    assert caught.value.message == "The form body is not valid UTF-8."


# --- parse_small_body: every other type is read as a submission is --------------------------------

def test_a_small_json_body_keeps_its_types() -> None:
    assert parse_small_body("application/json", b'{"token": "abc", "n": 2}', LIMITS) == ParsedBody(
        {"token": "abc", "n": 2}, is_json=True)


def test_a_small_form_post_is_read_as_a_form() -> None:
    assert parse_small_body("application/x-www-form-urlencoded", b"token=abc", LIMITS) == ParsedBody(
        {"token": ["abc"]}, is_json=False)


def test_a_small_body_past_the_limit_gets_the_submit_paths_413() -> None:
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_small_body("application/x-www-form-urlencoded", b"token=" + b"x" * 59, LIMITS)
    assert caught.value.message == "The request body is 65 bytes; this form accepts at most 64."


@pytest.mark.parametrize("content_type, shown", [(None, "no content type"), ("image/png", "image/png")])
def test_a_small_body_of_another_type_is_415_listing_the_accepted_ones(content_type: str | None, shown: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        parse_small_body(content_type, b"token=abc", LIMITS)
    assert caught.value.message == f"{shown} is not supported; send one of {ACCEPTED}."


# --- text_field --------------------------------------------------------------------------------------

def test_a_form_field_is_its_first_value() -> None:
    parsed = parse_small_body("text/plain", b"code=first&code=second", LIMITS)
    assert text_field(parsed, "code") == "first"


def test_an_absent_or_empty_field_is_empty_text() -> None:
    form = parse_small_body("text/plain", b"token=abc", LIMITS)
    assert text_field(form, "code") == ""
    assert text_field(parse_small_body(None, b"", LIMITS), "code") == ""
    assert text_field(ParsedBody({"code": []}, is_json=False), "code") == ""
    assert text_field(parse_small_body("application/json", b'{"token": "abc"}', LIMITS), "code") == ""


def test_a_json_string_field_is_returned_as_sent() -> None:
    parsed = parse_small_body("application/json", b'{"code": " AB-12 "}', LIMITS)
    assert text_field(parsed, "code") == " AB-12 "


@pytest.mark.parametrize("body", [b'{"code": ["AB"]}', b'{"code": 12}', b'{"code": null}', b'{"code": {"a": "b"}}'])
def test_a_json_field_that_is_not_a_string_is_400_with_an_example(body: bytes) -> None:
    parsed = parse_small_body("application/json", body, LIMITS)
    with pytest.raises(MalformedRequestError) as caught:
        text_field(parsed, "code")
    assert caught.value.STATUS_CODE == 400
    assert caught.value.message == 'The field \'code\' must be a string, e.g. {"code": "…"}.'


# --- check_parameters ----------------------------------------------------------------------------

def test_no_parameters_pass() -> None:
    assert check_parameters({}, LIMITS) == {}


def test_parameters_up_to_the_count_limit_pass_and_one_more_is_413() -> None:
    three = {"a": "1", "b": "2", "c": "3"}
    assert check_parameters(dict(list(three.items())[:2]), LIMITS) == {"a": "1", "b": "2"}
    assert check_parameters(three, LIMITS) == three
    with pytest.raises(PayloadTooLargeError) as caught:
        check_parameters({**three, "d": "4"}, LIMITS)
    assert caught.value.STATUS_CODE == 413
    assert caught.value.message == "More than 3 query parameters were sent."


def test_a_parameter_value_up_to_the_length_limit_passes_and_one_more_is_413() -> None:
    assert check_parameters({"page": "x" * 9}, LIMITS) == {"page": "x" * 9}
    assert check_parameters({"page": "é" * 10}, LIMITS) == {"page": "é" * 10}  # characters, not bytes
    with pytest.raises(PayloadTooLargeError) as caught:
        check_parameters({"page": "x" * 11}, LIMITS)
    assert caught.value.STATUS_CODE == 413
    assert caught.value.message == "The query parameter 'page' is 11 characters; at most 10 are accepted."


def test_a_parameter_name_up_to_the_length_limit_passes_and_one_more_is_413() -> None:
    assert check_parameters({"n" * 10: ""}, LIMITS) == {"n" * 10: ""}
    with pytest.raises(PayloadTooLargeError) as caught:
        check_parameters({"n" * 11: ""}, LIMITS)
    assert caught.value.message == f"The query parameter {'n' * 11!r} is 11 characters; at most 10 are accepted."


def test_a_long_parameter_is_named_by_its_first_40_characters_and_its_length_grouped() -> None:
    name = "abcdefghij" * 4 + "TAIL"
    with pytest.raises(PayloadTooLargeError) as by_name:
        check_parameters({name: "1"}, LIMITS)
    assert by_name.value.message == f"The query parameter {name[:40]!r} is 44 characters; at most 10 are accepted."
    with pytest.raises(PayloadTooLargeError) as by_value:
        check_parameters({"q": "x" * 1001}, ROOMY)
    assert by_value.value.message == "The query parameter 'q' is 1,001 characters; at most 1,000 are accepted."


@pytest.mark.parametrize("where", ["name", "value"])
@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\ud800", "\udbff\udc00", "x\udfff"])
def test_a_nul_or_a_lone_surrogate_is_400_naming_the_parameter(where: str, bad: str) -> None:
    parameters = {bad: "1"} if where == "name" else {"ref": bad}
    with pytest.raises(MalformedRequestError) as caught:
        check_parameters(parameters, LIMITS)
    assert caught.value.STATUS_CODE == 400
    shown = bad if where == "name" else "ref"
    assert caught.value.message == f"The query parameter {shown!r} is not valid text."


@pytest.mark.parametrize("text", ["\ud7ff", "\ue000", "\uffff", "\U0001f600", "\x01\t\n", "ümlaut"])
def test_text_just_outside_the_surrogates_and_other_controls_pass(text: str) -> None:
    assert check_parameters({text: text}, LIMITS) == {text: text}


def test_invalid_text_names_a_long_parameter_by_its_first_40_characters() -> None:
    name = "abcdefghij" * 4 + "TAIL"
    with pytest.raises(MalformedRequestError) as caught:
        check_parameters({name: "\x00"}, ROOMY)
    assert caught.value.message == f"The query parameter {name[:40]!r} is not valid text."


# --- a Content-Type at the edge of Latin-1 -----------------------------------------------------------

def test_a_content_type_within_latin1_is_read_and_past_it_is_415() -> None:
    # An HTTP header can carry any Latin-1 byte: U+00FF still names a (strange) parameter value.
    assert media_type("application/x-www-form-urlencoded; x=\u00ff") == (
        "application/x-www-form-urlencoded", {"x": "\u00ff"})
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        media_type("application/x-www-form-urlencoded; x=\u0100")
    assert caught.value.message == (
        f"The Content-Type header holds characters no media type has; send one of {ACCEPTED}.")


# --- an empty file input before other fields ------------------------------------------------------

def test_fields_after_an_empty_file_input_are_still_read() -> None:
    body = (b'--xyz\r\nContent-Disposition: form-data; name="photo"; filename=""\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n\r\n"
            b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnn\r\n--xyz--\r\n')
    assert parse_body("multipart/form-data; boundary=xyz", body, ROOMY).values == {"name": ["Ann"]}


# --- form_pairs refuses too many fields as parse_qsl does ----------------------------------------------

def test_form_pairs_at_the_field_limit_and_one_past_it_match_parse_qsl() -> None:
    assert form_pairs("a=1&b=2&c=3", 3) == parse_qsl("a=1&b=2&c=3", keep_blank_values=True, max_num_fields=3)
    with pytest.raises(ValueError) as ours:
        form_pairs("a=1&b=2&c=3&d=4", 3)
    with pytest.raises(ValueError) as stdlib:
        parse_qsl("a=1&b=2&c=3&d=4", keep_blank_values=True, max_num_fields=3)
    assert str(ours.value) == str(stdlib.value) == "Max number of fields exceeded"
