"""The media type of a Content-Type without parameters is read as python-multipart reads it, without importing it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from python_multipart.multipart import parse_options_header

from chalicelib.core.errors import UnsupportedMediaTypeError
from chalicelib.intake.parsing import Limits, media_type, parse_body


def by_library(content_type: str) -> tuple[str, dict[str, str]]:
    mime, params = parse_options_header(content_type)
    return mime.decode("latin-1").lower(), {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in params.items()}


@given(st.text(alphabet=st.sampled_from(list("aZ/-+.x ;=\t\"\u00e9\u0130\u20ac")) | st.characters(), max_size=40))
@example("Application/X-WWW-Form-URLEncoded")
@example(" \tmultipart/form-data \t")
@example("text/plain\u20ac")
@example("\u0130/x")
def test_media_type_reads_every_content_type_as_python_multipart_does(content_type: str) -> None:
    try:
        expected: object = by_library(content_type)
    except UnicodeEncodeError:
        expected = UnsupportedMediaTypeError  # python-multipart cannot read it: a 415, never a 500
    try:
        found: object = media_type(content_type)
    except UnsupportedMediaTypeError:
        found = UnsupportedMediaTypeError
    assert found == expected


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded\u20ac",
                                          "multipart/form-data; boundary=\u0100x", "\u0130/x"])
def test_a_content_type_beyond_latin_1_is_a_415_with_the_types_to_send(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        parse_body(content_type, b"a=1", Limits(1000, 10, 4, 100))
    assert refused.value.STATUS_CODE == 415
    assert "application/x-www-form-urlencoded, multipart/form-data, application/json" in refused.value.message


def test_a_urlencoded_post_is_read_without_importing_python_multipart() -> None:
    code = ("import sys; from chalicelib.intake.parsing import Limits, parse_body; "
            "parsed = parse_body('application/x-www-form-urlencoded', b'a=1&b=2', Limits(1000, 10, 4, 100)); "
            "assert parsed.values == {'a': ['1'], 'b': ['2']}; assert 'python_multipart' not in sys.modules; "
            "parse_body('multipart/form-data; boundary=x', b'--x\\r\\nContent-Disposition: form-data; name=\"a\""
            "\\r\\n\\r\\n1\\r\\n--x--\\r\\n', Limits(1000, 10, 4, 100)); assert 'python_multipart' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
