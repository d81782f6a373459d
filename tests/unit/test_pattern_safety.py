"""Which regular expressions a form may use on visitors' answers: each refusal's reason as the form's author reads it,
and the delimited repetitions that split one way only (accepted) beside look-alikes that can split many ways."""
from __future__ import annotations

import re
import time

import pytest

from chalicelib.forms.patterns import AMBIGUOUS, NESTED, answer_regex, regex_problem


def test_the_reasons_a_pattern_is_refused() -> None:
    assert NESTED == "nested quantifiers (e.g. (a+)+) can take exponential time; simplify the pattern"
    assert AMBIGUOUS == ("alternatives that can match the same text inside a repetition (e.g. (a|ab)*) can take "
                         "exponential time")
    assert regex_problem("(a+)+$") == NESTED
    assert regex_problem("(a|ab)*") == AMBIGUOUS
    assert regex_problem(r"(a)\1") == "back-references are not allowed in patterns"
    assert regex_problem(r"(?P<x>a)(?(x)b|c)") == "back-references are not allowed in patterns"
    problem = regex_problem("([a-z")
    assert problem is not None and problem.startswith("invalid regular expression: ")


@pytest.mark.parametrize("pattern", [
    r"^(,[^,]+)*$", r"^(-[^-]+)*$", r"^[a-z]+(\.[^.\s]+)*$",  # a negated class cannot match its own delimiter
    r"^(0[a-z]+)*$", r"^(_[A-Z]+)*$", r"^([a-c][d-f]+)*$",  # a range that leaves the delimiter out
    r"^(\d[^\d]+)*$", r"^(\s\S+)*$", r"^(\W\w+)*$", r"^(\D\d+)*$",  # categories and their negations
    r"^(?:^a|b)*$", r"^(?:\ba|-)*$", r"^(?:(?=a)a|b)*$", r"^(?:(?!b)a|b)*$",  # anchors and look-arounds match nothing
    r"^(?:a{2}|b)*$", r"^(?:(?:x)|y)+$", r"^(?:[ab]c|d)+$",
    # a group, an optional character or a nested alternation at the start of a branch: its first characters
    r"^(?:(?:ab)c|d)*$", r"^((ab)c|d)*$", r"^(?:a?bc|c)*$", r"^(?:(?:ab|cd)e|f)*$",
    r"^(-[a-z]+\b)*$", r"^((-[a-z]+\b))*$",  # a word boundary matches nothing: still one delimiter and one class
    r"^(-[a-z]+){1,2}$",
])
def test_patterns_that_split_one_way_only_are_accepted(pattern: str) -> None:
    assert regex_problem(pattern) is None
    started = time.perf_counter()
    for hostile in ("a" * 40 + "!", ",a" * 30 + ",", "-" * 40 + "!", "0a" * 30 + "0"):
        answer_regex(pattern).search(hostile)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("pattern, problem", [
    (r"^(b[a-z]+)*$", NESTED),  # `b` is also in a-z: "bbbb" splits many ways
    (r"^(a{1,2})*$", NESTED),  # even two at most: "aaaa" splits as 1+1+2, 2+2, …
    (r"^(-[a-z]+)*(a+)+$", NESTED),  # a safe repetition first, a dangerous one after it
    (r"^(?=(a+)+$)x", NESTED),  # inside a look-ahead too
    (r"^(-[^a]+)*$", NESTED),  # `-` is not `a`, so the class matches the delimiter too
    (r"^([a-z][^-]+)*$", NESTED),
    (r"^(\w\w+)*$", NESTED),
    (r"^(1\d+)*$", NESTED),
    (r"^(?:(?=x)a|a)*$", AMBIGUOUS),  # the look-ahead matches nothing; both branches start with `a`
    (r"^(?:\ba|a)*$", AMBIGUOUS),
    (r"^(?:[a-c]x|by)*$", AMBIGUOUS),  # `b` lies inside a-c
    (r"^(?:[^x]|y)*$", AMBIGUOUS),
    (r"^(?:a?b|b)*$", AMBIGUOUS),  # an optional first character: the next one may start it too
    (r"^(?:(?:a|c)d|ce)*$", AMBIGUOUS),
    (r"^(?:.?b|c)*$", AMBIGUOUS),  # any character first: it may be the other branch's
    (r"^(?:(?:.b|cd)e|f)*$", AMBIGUOUS),
    (r"^(?:a+b|b)*$", NESTED),  # the branches start apart, but `a+` repeats inside the repetition
    (r"^(?:(?:|a)b|c)*$", AMBIGUOUS),  # an empty alternative: its first character is the next one
])
def test_look_alikes_that_split_many_ways_are_refused(pattern: str, problem: str) -> None:
    assert regex_problem(pattern) == problem


def test_letters_ignoring_case_overlap_their_other_case() -> None:
    assert regex_problem(r"(?i)^(?:A|ab)*$") == AMBIGUOUS
    assert regex_problem(r"^(?:A|ab)*$") is None
    assert regex_problem(r"(?i)^(B[a-z]+)*$") == NESTED
    assert regex_problem(r"^(B[a-z]+)*$") is None


def test_a_dollar_ends_the_text_and_a_dollar_in_a_class_is_a_character() -> None:
    assert answer_regex(r"^\d+$").search("123\n") is None
    assert answer_regex(r"^\d+$").search("123")
    assert answer_regex(r"^a\$$").search("a$")
    assert answer_regex("^[$]$").search("$")
    assert answer_regex("^[$]").pattern == "^[$]"
    assert isinstance(answer_regex("x"), re.Pattern)


@pytest.mark.parametrize("pattern", [
    "^(?:\u4e03a|[\u4e00-\u4e05]b)*(?:x)*$", "^((?:\u4e03a|[\u4e00-\u4e05]b)*)(x)$",
    "(?:(?:\u4e03a|[\u4e00-\u4e05]b)*|x)", "^(?:\u4e03a|[\u4e00-\u4e05]b)*(?=x)", "^(?:\u4e03a|[\u4e00-\u4e05]b)*[xy]$",
])
def test_alternatives_sharing_a_character_of_any_script_are_refused_wherever_the_repetition_stands(
        pattern: str) -> None:
    # 七 (U+4E03) lies inside 一-丅 (U+4E00 to U+4E05): both alternatives can start with it.
    assert regex_problem(pattern) == AMBIGUOUS
    assert regex_problem(pattern.replace("\u4e00-\u4e05", "\u4e06-\u4e09")) is None
