"""The controls of one HTML `<form>`, grouped by the name the browser posts them under, with their labels."""
from __future__ import annotations

from dataclasses import dataclass, field

from formloop_cli.html_page import Element

# Buttons and inputs that never post an answer of their own (a named submit button is handled apart).
NOT_POSTED = frozenset({"submit", "reset", "button", "image"})


@dataclass
class FieldGroup:
    """Every control the browser posts under one name (a radio group, `role[]` checkboxes, a hidden+checkbox pair)."""

    posted_name: str
    controls: list[Element] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The name Formloop sees: PHP-style `role[]` is the same field as `role`."""
        return self.posted_name[:-2] if self.posted_name.endswith("[]") else self.posted_name

    def kinds(self) -> list[str]:
        """Each control's kind: an input's type (text by default), else its tag."""
        return [control_kind(c) for c in self.controls]

    def of_kind(self, *kinds: str) -> list[Element]:
        """The controls of the given kinds."""
        return [c for c in self.controls if control_kind(c) in kinds]

    @property
    def required(self) -> bool:
        """HTML's `required` on any of the controls."""
        return any(c.has("required") for c in self.controls)


def control_kind(control: Element) -> str:
    """`select`, `textarea`, `button`, or an input's type (lower-cased; text when absent or unknown)."""
    if control.tag != "input":
        return control.tag
    return (control.get("type") or "text").strip().lower() or "text"


def form_controls(root: Element, form: Element) -> list[Element]:
    """The form's controls in document order, with those elsewhere that name it in a `form` attribute."""
    inside = [e for e in form.iter() if e.tag in ("input", "select", "textarea", "button")]
    form_id = form.get("id")
    if form_id:
        seen = {id(e) for e in inside}
        inside += [e for e in root.iter() if e.tag in ("input", "select", "textarea", "button")
                   and e.get("form") == form_id and id(e) not in seen]
    return inside


def group_fields(controls: list[Element]) -> list[FieldGroup]:
    """Controls grouped by posted name, in the order their names first appear."""
    groups: dict[str, FieldGroup] = {}
    for control in controls:
        name = control.get("name")
        if name is None or name == "":
            continue
        groups.setdefault(name, FieldGroup(name)).controls.append(control)
    return list(groups.values())


class Labels:
    """Finds the text a person reads for a control: `<label for>`, a wrapping label, then attributes."""

    def __init__(self, root: Element) -> None:
        self._by_for: dict[str, Element] = {}
        self._by_id: dict[str, Element] = {}
        for element in root.iter():
            if element.tag == "label" and element.get("for"):
                self._by_for.setdefault(str(element.get("for")), element)
            if element.get("id"):
                self._by_id.setdefault(str(element.get("id")), element)

    def of(self, control: Element) -> tuple[str | None, str]:
        """The control's label and where it came from (None when nothing names it)."""
        control_id = control.get("id")
        if control_id and control_id in self._by_for:
            text = clean_label(self._by_for[control_id].text())
            if text:
                return text, "<label for>"
        for ancestor in control.ancestors():
            if ancestor.tag == "label":
                text = clean_label(ancestor.text())
                if text:
                    return text, "wrapping <label>"
                break
        labelledby = control.get("aria-labelledby")
        if labelledby:
            text = clean_label(" ".join(self._by_id[i].text() for i in labelledby.split() if i in self._by_id))
            if text:
                return text, "aria-labelledby"
        for attribute in ("aria-label", "placeholder", "title"):
            text = clean_label(control.get(attribute) or "")
            if text:
                return text, attribute
        return None, "no label"

    @staticmethod
    def legend(controls: list[Element]) -> str | None:
        """The legend of the fieldset holding every one of these controls (a radio or checkbox group's question)."""
        fieldsets = [[a for a in c.ancestors() if a.tag == "fieldset"] for c in controls]
        if not fieldsets or not fieldsets[0]:
            return None
        nearest = fieldsets[0][0]
        if not all(nearest in chain for chain in fieldsets):
            return None
        for child in nearest.children:
            if isinstance(child, Element) and child.tag == "legend":
                return clean_label(child.text()) or None
        return None


def clean_label(text: str) -> str:
    """A label without the required-marker asterisk and trailing colon sites add."""
    return text.strip().rstrip("*").strip().rstrip(":").strip().rstrip("*").strip()
