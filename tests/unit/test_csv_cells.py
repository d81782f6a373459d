"""CSV formula neutralisation: every way a spreadsheet may still see a formula at the start of a cell."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.reporting.exports import _cell, neutralise

# What a spreadsheet skips before it looks for a formula: spaces, NBSP, zero-width characters, a BOM.
INVISIBLE = [" ", "  ", "\u00a0", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3000", " \ufeff\u200b"]
STARTS = ["=", "+", "-", "@", "\t", "\r", ";", "|", "\uff1d", "\uff0b", "\uff0d", "\uff20"]


@pytest.mark.parametrize("start", STARTS)
def test_a_formula_start_is_neutralised(start: str) -> None:
    assert neutralise(f"{start}HYPERLINK(\"http://evil\")") == f"'{start}HYPERLINK(\"http://evil\")"


@pytest.mark.parametrize("lead", INVISIBLE)
@pytest.mark.parametrize("start", ["=", "+", "-", "@", ";", "|", "\uff1d"])
def test_a_formula_behind_invisible_characters_is_neutralised(lead: str, start: str) -> None:
    assert neutralise(f"{lead}{start}1+1") == f"'{lead}{start}1+1"


@pytest.mark.parametrize("text", ["Hello = world", "", "  hi", "\u200bplain", "a;b|c", "1-2", "ann@example.com",
                                  " \u00a0 "])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_list_cells_are_neutralised_as_a_whole() -> None:
    assert _cell(["\u200b=a", "b"]) == "'\u200b=a; b"


@given(st.text(max_size=30))
def test_no_cell_reaches_a_spreadsheet_starting_a_formula(text: str) -> None:
    cell = neutralise(text)
    shown = cell.lstrip("".join(c for c in cell if c.isspace() or c in "\u200b\u200c\u200d\u2060\ufeff"))
    assert not shown[:1] or shown[0] not in "=+-@;|\uff1d\uff0b\uff0d\uff20" or cell.startswith("'")
