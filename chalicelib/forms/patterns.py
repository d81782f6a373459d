"""Which regular expressions in form definitions are safe to run on visitors' input.

Python's `re` backtracks, so a pattern where one piece of text can be matched in many ways
(`(a+)+`, `(a|a)*`) takes exponential time on a hostile answer. Definitions are refused when
a repetition holds another open-ended quantifier or alternatives that can start alike. One
common shape is allowed: a repeated character plus one quantified class that cannot match it
(`(-[a-z]+)*`, `(\\w+\\s)*`), since the delimiter makes the split into repetitions unique.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

_P: Any = re._parser  # type: ignore[attr-defined]
_C: Any = re._constants  # type: ignore[attr-defined]
_REPEATS = {_C.MAX_REPEAT, _C.MIN_REPEAT, getattr(_C, "POSSESSIVE_REPEAT", None)} - {None}
_CATEGORIES = {
    _C.CATEGORY_DIGIT: r"\d", _C.CATEGORY_NOT_DIGIT: r"\D", _C.CATEGORY_SPACE: r"\s",
    _C.CATEGORY_NOT_SPACE: r"\S", _C.CATEGORY_WORD: r"\w", _C.CATEGORY_NOT_WORD: r"\W",
}
# Characters tried when asking whether two character classes overlap, plus each pattern's own literals.
_SAMPLE = [chr(c) for c in range(0x300)] + list("\u00a0\u2028\u2029\u3000\u0410\u044f\u0663\u4e2d\U0001f600")
NESTED = "nested quantifiers (e.g. (a+)+) can take exponential time; simplify the pattern"
AMBIGUOUS = "alternatives that can match the same text inside a repetition (e.g. (a|ab)*) can take exponential time"

def regex_problem(pattern: str) -> str | None:
    """Why a regular expression is refused, or None if it is safe to run on visitors' input."""
    try:
        parsed = _P.parse(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    checker = _Checker(parsed.state.flags & re.IGNORECASE, _literals(parsed))
    return checker.walk(list(parsed), inside_repeat=False)


def _literals(items: Any) -> set[str]:
    found: set[str] = set()
    for op, arg in items:
        if op in (_C.LITERAL, _C.NOT_LITERAL):
            found.add(chr(arg))
        elif op == _C.RANGE:
            found.update({chr(arg[0]), chr(arg[1])})
        elif op == _C.IN:
            found |= _literals(arg)
        elif op in _REPEATS:
            found |= _literals(arg[2])
        elif op == _C.SUBPATTERN:
            found |= _literals(arg[-1])
        elif op == _C.BRANCH:
            for branch in arg[1]:
                found |= _literals(branch)
        elif op in (_C.ASSERT, _C.ASSERT_NOT):
            found |= _literals(arg[1])
    return found


class _Checker:
    def __init__(self, ignore_case: int, literals: set[str]) -> None:
        self.flags = ignore_case
        self.sample = _SAMPLE + sorted(literals)

    def walk(self, items: list[Any], inside_repeat: bool) -> str | None:
        for op, arg in items:
            found: str | None = None
            if op in _REPEATS:
                low, high, sub = arg
                # An exact count ({3}) has one way to match; only open-ended ones multiply the ways.
                if inside_repeat and high > 1 and low != high:
                    return NESTED
                if high > 1 and self._delimited(list(sub)):
                    continue
                found = self.walk(list(sub), inside_repeat or high > 1)
            elif op == _C.SUBPATTERN:
                found = self.walk(list(arg[-1]), inside_repeat)
            elif op == _C.BRANCH:
                branches = [list(b) for b in arg[1]]
                if inside_repeat and self._overlapping(branches):
                    return AMBIGUOUS
                for branch in branches:
                    found = found or self.walk(branch, inside_repeat)
            elif op in (_C.ASSERT, _C.ASSERT_NOT):
                found = self.walk(list(arg[1]), inside_repeat)
            elif op in (_C.GROUPREF, getattr(_C, "GROUPREF_EXISTS", None)):
                return "back-references are not allowed in patterns"
            if found:
                return found
        return None

    def _delimited(self, body: list[Any]) -> bool:
        """A repeated `-[a-z]+` or `\\w+\\s`: one character, and one quantified class that cannot match it."""
        atoms = [item for item in body if item[0] != _C.AT]
        while len(atoms) == 1 and atoms[0][0] == _C.SUBPATTERN:
            atoms = [item for item in atoms[0][1][-1] if item[0] != _C.AT]
        if len(atoms) != 2:
            return False
        for edge, other in (atoms, atoms[::-1]):
            delimiter = _single_char(edge)
            if delimiter is None or other[0] not in _REPEATS or len(other[1][2]) != 1:
                continue
            repeated = _single_char(other[1][2][0])
            if repeated is not None and not self._overlap(delimiter, repeated):
                return True
        return False

    def _overlapping(self, branches: list[list[Any]]) -> bool:
        firsts = [_first(branch) for branch in branches]
        for i, left in enumerate(firsts):
            for right in firsts[i + 1:]:
                if left is None or right is None:
                    return True
                if any(self._overlap(a, b) for a in left for b in right):
                    return True
        return False

    def _overlap(self, left: str, right: str) -> bool:
        a, b = _compiled(left, self.flags), _compiled(right, self.flags)
        return any(a.fullmatch(c) and b.fullmatch(c) for c in self.sample)


@lru_cache(maxsize=512)
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags | re.DOTALL)


def _single_char(item: tuple[Any, Any]) -> str | None:
    """The class of an atom that matches exactly one character, else None."""
    op, arg = item
    if op == _C.LITERAL:
        return re.escape(chr(arg))
    if op == _C.NOT_LITERAL:
        return f"[^{re.escape(chr(arg))}]"
    if op == _C.IN:
        return _in_class(arg)
    return None


def _in_class(items: list[Any]) -> str | None:
    parts = []
    negate = ""
    for op, arg in items:
        if op == _C.NEGATE:
            negate = "^"
        elif op == _C.LITERAL:
            parts.append(re.escape(chr(arg)))
        elif op == _C.RANGE:
            parts.append(f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}")
        elif op == _C.CATEGORY and arg in _CATEGORIES:
            parts.append(_CATEGORIES[arg])
        else:
            return None
    return f"[{negate}{''.join(parts)}]"


def _first(items: list[Any]) -> list[str] | None:
    """The classes the first character matched by a sequence can belong to; None if unknown or empty."""
    for index, (op, arg) in enumerate(items):
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue
        single = _single_char((op, arg))
        if single is not None:
            return [single]
        if op == _C.SUBPATTERN:
            inner = _first(list(arg[-1]))
            return inner
        if op in _REPEATS and arg[0] >= 1:
            return _first(list(arg[2]))
        if op in _REPEATS:
            head, rest = _first(list(arg[2])), _first(items[index + 1:])
            return None if head is None or rest is None else head + rest
        if op == _C.BRANCH:
            heads = [_first(list(branch) + items[index + 1:]) for branch in arg[1]]
            return None if any(h is None for h in heads) else [c for h in heads if h for c in h]
        return None
    return None


# Even a linear-looking pattern is quadratic under re.search (`\d+$` on 20,000 digits takes seconds):
# a pattern only ever runs on text no longer than its question's maxLength, or this without one.
PATTERN_MAX_CHARS = 1000
# An unescaped `$` ends the text, as in JSON Schema's ECMA-262 regular expressions (Python's `$` also
# matches before a final newline). The same rewrite fastjsonschema makes, so both validators agree.
_DOLLAR = re.compile(r"(?<!\\)\$")


@lru_cache(maxsize=512)
def answer_regex(pattern: str) -> re.Pattern[str]:
    """A definition's `pattern` compiled as it runs on answers: `$` at the very end of the text only."""
    try:
        return re.compile(_DOLLAR.sub(r"\\Z", pattern))
    except re.error:  # e.g. `[$]`: the rewrite only makes sense outside a character class
        return re.compile(pattern)


def bounded_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    """The JSON Schema `pattern` keyword, skipped for text longer than the question allows."""
    if not isinstance(instance, str):
        return
    from jsonschema.exceptions import ValidationError

    limit = schema.get("maxLength")
    if isinstance(limit, int) and len(instance) > limit:
        return  # maxLength reports it
    if not isinstance(limit, int) and len(instance) > PATTERN_MAX_CHARS:
        yield ValidationError(f"{instance[:20]!r}… is longer than {PATTERN_MAX_CHARS} characters",
                              validator="maxLength", validator_value=PATTERN_MAX_CHARS)
        return
    if not answer_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")
