"""SurveyJS expressions (`visibleIf`, `requiredIf`) -> JSON Schemas over the answers, as Formloop's conditions are.

The grammar follows SurveyJS's own (src/expressions/grammar.pegjs): `or` binds loosest, then `and`, then the
comparisons, then `contains`-like operators; `!` negates the whole expression after it; `empty`/`notempty` follow
an operand. Only what a condition over answers can mean is compiled: a question compared with literals.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<var>\{[^{}]*\})
  | (?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
  | (?P<number>0x[0-9a-fA-F]+|\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|=<|>=|=>|==|!=|<>|&&|\|\||\*=|[=<>!()\[\],+\-*/%^])
""", re.X)
_WORD_OPS = {
    "or": "or", "and": "and", "lessorequal": "<=", "greaterorequal": ">=", "equals": "=", "equal": "=",
    "notequals": "!=", "notequal": "!=", "less": "<", "greater": ">", "contains": "contains", "contain": "contains",
    "notcontains": "notcontains", "notcontain": "notcontains", "anyof": "anyof", "allof": "allof",
    "noneof": "noneof", "negate": "!", "empty": "empty", "notempty": "notempty",
}
_SYMBOL_OPS = {"||": "or", "&&": "and", "=<": "<=", "=>": ">=", "==": "=", "<>": "!=", "*=": "contains"}
COMPARISONS = ("<=", ">=", "=", "!=", "<", ">")
SET_OPERATORS = ("contains", "notcontains", "anyof", "allof", "noneof")
_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!="}
# What a form post can hold for "no answer".
_EMPTY_VALUES: list[Any] = ["", [], {}]
# JavaScript's `u` flag refuses escapes of anything but syntax characters, so escape only those.
_REGEX_SYNTAX = re.compile(r"([\^$\\.*+?()\[\]{}|/])")


class ExpressionError(Exception):
    """An expression Formloop cannot express as a condition; the message says what and why."""


@dataclass(frozen=True)
class Node:
    """A parsed expression: `kind` is var, const, array, binary, unary, logic or function."""

    kind: str
    value: Any = None
    items: tuple[Node, ...] = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    """The expression's tokens as (kind, text); ExpressionError on a character SurveyJS would not read."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"cannot read {text[position:position + 10]!r}")
        kind = match.lastgroup or ""
        if kind == "word" and match.group().lower() in _WORD_OPS:
            tokens.append(("op", _WORD_OPS[match.group().lower()]))
        elif kind == "op":
            tokens.append(("op", _SYMBOL_OPS.get(match.group(), match.group())))
        elif kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take_op(self, *ops: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ops:
            self.position += 1
            return token[1]
        return None

    def expect(self, op: str) -> None:
        if self.take_op(op) is None:
            raise ExpressionError(f"expected {op!r}")

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.take_op("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Node("logic", "or", tuple(items))

    def conjunction(self) -> Node:
        items = [self.comparison()]
        while self.take_op("and"):
            items.append(self.comparison())
        return items[0] if len(items) == 1 else Node("logic", "and", tuple(items))

    def comparison(self) -> Node:
        left = self.set_operation()
        op = self.take_op(*COMPARISONS)
        if op is None:
            return left
        node = Node("binary", op, (left, self.set_operation()))
        if self.take_op(*COMPARISONS):
            raise ExpressionError("chained comparisons (a < b < c) have no equivalent")
        return node

    def set_operation(self) -> Node:
        left = self.factor()
        while (op := self.take_op(*SET_OPERATORS)) is not None:
            left = Node("binary", op, (left, self.factor()))
        if self.take_op("+", "-", "*", "/", "%", "^"):
            raise ExpressionError("arithmetic has no equivalent in a condition")
        return left

    def factor(self) -> Node:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        if self.take_op("("):
            inner = self.expression()
            self.take_op(")")  # SurveyJS's grammar lets the last one be left out
            return inner
        if self.take_op("!"):
            return Node("unary", "!", (self.expression(),))
        if self.take_op("["):
            items: list[Node] = []
            while self.take_op("]") is None:
                items.append(self.expression())
                if self.take_op(",") is None:
                    self.expect("]")
                    break
            return self._postfix(Node("array", None, tuple(items)))
        following = self.tokens[self.position + 1] if self.position + 1 < len(self.tokens) else None
        if token == ("op", "-") and following is not None and following[0] == "number":
            self.position += 2
            return self._postfix(Node("const", -_number(following[1])))
        self.position += 1
        kind, text = token
        if kind == "var":
            return self._postfix(Node("var", text[1:-1].strip()))
        if kind == "string":
            return self._postfix(Node("const", re.sub(r"\\(.)", r"\1", text[1:-1])))
        if kind == "number":
            return self._postfix(Node("const", _number(text)))
        if kind == "word":
            if self.take_op("("):
                raise ExpressionError(f"the function {text}() has no equivalent in a condition")
            lowered = text.lower()
            constants = {"true": True, "false": False, "null": None, "undefined": None}
            return self._postfix(Node("const", constants[lowered] if lowered in constants else text))
        raise ExpressionError(f"unexpected {text!r}")

    def _postfix(self, node: Node) -> Node:
        op = self.take_op("empty", "notempty")
        return Node("unary", op, (node,)) if op else node


def _number(text: str) -> int | float:
    if text.lower().startswith("0x"):
        return int(text, 16)
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def parse(text: str) -> Node:
    """The expression's tree; ExpressionError if it is not one."""
    parser = _Parser(text)
    node = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return node


@dataclass(frozen=True)
class Answer:
    """What a condition may refer to: the property path of an answer and the JSON type it has once posted."""

    path: tuple[str, ...]
    type: str


def compile_condition(text: str, answers: Mapping[str, Answer]) -> dict[str, Any]:
    """The JSON Schema that holds exactly when the SurveyJS expression is true; ExpressionError otherwise."""
    return _Compiler(answers).node(parse(text))


def negate(condition: dict[str, Any]) -> dict[str, Any]:
    """The opposite condition, without a double `not`."""
    if list(condition) == ["not"]:
        inner: dict[str, Any] = condition["not"]
        return inner
    return {"not": condition}


class _Compiler:
    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.answers = answers

    def node(self, node: Node) -> dict[str, Any]:
        if node.kind == "logic":
            return {"allOf" if node.value == "and" else "anyOf": [self.node(item) for item in node.items]}
        if node.kind == "unary" and node.value == "!":
            return negate(self.node(node.items[0]))
        if node.kind == "unary":
            present = self._not_empty(self._answer(node.items[0]))
            return present if node.value == "notempty" else negate(present)
        if node.kind == "binary":
            return self._binary(node.value, *node.items)
        if node.kind == "var" and self._answer(node).type == "boolean":
            return self._at(self._answer(node), self._boolean(True))
        raise ExpressionError("only comparisons of a question with values can be a condition")

    def _answer(self, node: Node) -> Answer:
        if node.kind != "var":
            raise ExpressionError("only a question ({name}) can be tested")
        answer = self.answers.get(node.value)
        if answer is None:
            raise ExpressionError(f"{{{node.value}}} is not a converted question of this survey")
        return answer

    @staticmethod
    def _at(answer: Answer, condition: dict[str, Any]) -> dict[str, Any]:
        """The condition on the answer at its path, which must be present (SurveyJS: an empty answer fails)."""
        for key in reversed(answer.path):
            condition = {"required": [key], "properties": {key: condition}}
        return condition

    def _not_empty(self, answer: Answer) -> dict[str, Any]:
        return self._at(answer, {"not": {"enum": _EMPTY_VALUES}})

    def _binary(self, op: str, left: Node, right: Node) -> dict[str, Any]:
        if left.kind != "var" and right.kind == "var" and op in _MIRRORED:
            left, right, op = right, left, _MIRRORED[op]
        answer = self._answer(left)
        if right.kind == "var":
            raise ExpressionError("comparing two questions has no equivalent in a condition")
        literal = self._literal(right, answer)
        if op in ("=", "!="):
            if literal is None or literal == [] or literal == "":
                present = self._not_empty(answer)
                return negate(present) if op == "=" else present
            equal = self._at(answer, self._equals(answer, literal))
            return equal if op == "=" else negate(equal)
        if op in ("<", "<=", ">", ">="):
            if answer.type not in ("integer", "number") or isinstance(literal, bool) \
                    or not isinstance(literal, (int, float)):
                raise ExpressionError(f"{op} compares numbers only in a condition (not text, dates or choices)")
            keyword = {"<": "exclusiveMaximum", "<=": "maximum", ">": "exclusiveMinimum", ">=": "minimum"}[op]
            return self._at(answer, {keyword: literal})
        positive = {"notcontains": "contains", "noneof": "anyof"}.get(op, op)
        matched = self._at(answer, self._set(positive, answer, literal))
        return negate(matched) if positive != op else matched

    def _literal(self, node: Node, answer: Answer) -> Any:
        if node.kind == "array":
            return [self._literal(item, Answer(answer.path, "item-" + answer.type)) for item in node.items]
        if node.kind != "const":
            raise ExpressionError("only values (text, numbers, true/false, [lists]) can be compared with")
        value = node.value
        kind = answer.type.removeprefix("item-").removeprefix("array-")
        # SurveyJS compares loosely ('5' = 5): the literal takes the type the answer has once posted.
        if kind in ("integer", "number") and isinstance(value, str):
            try:
                return _number(value)
            except ValueError:
                return value
        if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value

    def _equals(self, answer: Answer, literal: Any) -> dict[str, Any]:
        if answer.type.startswith("array"):
            values = literal if isinstance(literal, list) else [literal]
            # The same choices in any order: each one there, and nothing else.
            return {"allOf": [{"contains": {"const": v}} for v in values] + [{"not": {"contains": {"not": {
                "enum": values}}}}]}
        if isinstance(literal, list):
            raise ExpressionError("a single answer cannot equal a list")
        return self._boolean(literal) if answer.type == "boolean" else {"const": literal}

    def _set(self, op: str, answer: Answer, literal: Any) -> dict[str, Any]:
        values = literal if isinstance(literal, list) else [literal]
        if answer.type.startswith("array"):
            if op == "anyof":
                return {"contains": {"enum": values}}
            return {"allOf": [{"contains": {"const": v}} for v in values]}  # contains, allof
        if op == "anyof":
            return {"enum": values}
        if answer.type == "string" and op == "contains" and all(isinstance(v, str) for v in values):
            return {"allOf": [{"pattern": _REGEX_SYNTAX.sub(r"\\\1", v)} for v in values]}
        if op == "allof" and len(values) == 1:
            return {"const": values[0]}
        raise ExpressionError(f"{op} on a {answer.type} answer has no equivalent")

    @staticmethod
    def _boolean(value: Any) -> dict[str, Any]:
        # Formloop's own page posts a yes/no radio as "True"/"False" and its script tests the text as posted; the
        # server tests the boolean it becomes. Both must agree on whether a question shows.
        if isinstance(value, bool):
            return {"enum": [value, str(value)]}
        return {"const": value}
