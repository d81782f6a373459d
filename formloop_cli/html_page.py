"""A small element tree of an HTML page (the standard library's parser), enough to read its forms and labels."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
# An open element of the first kind is closed by a new element of the second (HTML's implied end tags).
_IMPLIED_END = {"option": {"option", "optgroup"}, "optgroup": {"optgroup"}, "p": {"p", "div", "form", "fieldset"},
                "li": {"li"}}
_HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|(?:left|top|margin-left|text-indent)\s*:\s*-\d{3,}"
    r"|(?:width|height)\s*:\s*0(?:px)?\s*(?:;|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)", re.I)
_HIDING_CLASS = re.compile(r"(?:^|\s)(?:hidden|d-none|is-hidden|honeypot|hp|visually-hidden-honeypot)(?:\s|$)", re.I)


@dataclass
class Element:
    """One element: its tag, attributes, children (elements or text) and parent."""

    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        """An attribute's value ("" for a bare attribute), or the default."""
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        """Whether the element carries the attribute (bare or with a value)."""
        return name in self.attrs

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        # A loop, not recursion: a hostile page may nest elements thousands deep.
        stack: list[Element] = [self]
        while stack:
            element = stack.pop()
            yield element
            stack.extend(reversed([c for c in element.children if isinstance(c, Element)]))

    def ancestors(self) -> Iterator[Element]:
        """The enclosing elements, nearest first."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def text(self, skip: frozenset[str] = frozenset({"select", "textarea", "script", "style", "option"})) -> str:
        """The element's text, whitespace collapsed, without the text of controls inside it."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in skip:
                parts.append(child.text(skip))
        return " ".join(" ".join(parts).split())

    def raw_text(self) -> str:
        """Every bit of text inside, as written (an option's or a textarea's content)."""
        return "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)

    def hidden_from_people(self) -> bool:
        """Whether CSS in the page's own attributes (or `hidden`/`aria-hidden`) hides this element or a parent."""
        for node in (self, *self.ancestors()):
            if node.has("hidden") or node.get("aria-hidden") == "true":
                return True
            if _HIDING_STYLE.search(node.get("style") or "") or _HIDING_CLASS.search(node.get("class") or ""):
                return True
        return False


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        closes = {open_tag for open_tag, closers in _IMPLIED_END.items() if tag in closers}
        while self.stack[-1].tag in closes:
            self.stack.pop()
        element = Element(tag, {name: value or "" for name, value in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; a stray end tag closes nothing.
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_page(html: str) -> Element:
    """The element tree of a page."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root
