"""The one place that writes page policies: strict by default, widened only by what a page names."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.forms.definitions import FormDefinition, FormRegistry
from chalicelib.pages.csp import content_security_policy, inline_hashes, source_hash
from chalicelib.routes.headers import form_policy, iri_to_uri

FORMS = Path(__file__).resolve().parents[2] / "forms"


def directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def contact_with(tmp_path: Path, **settings: object) -> FormDefinition:
    definition = json.loads((FORMS / "contact.json").read_text())
    definition["x-form"].update(settings)
    (tmp_path / "contact.json").write_text(json.dumps(definition))
    found = FormRegistry(tmp_path).get("contact")
    assert found is not None
    return found


def test_the_default_policy_allows_only_the_templates_own_blocks() -> None:
    policy = directives(content_security_policy())
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == list(inline_hashes()["script"])
    assert policy["style-src"] == list(inline_hashes()["style"])
    for name in ("img-src", "frame-src", "connect-src", "form-action", "frame-ancestors", "base-uri"):
        assert policy[name] == ["'none'"], name


def test_extra_sources_are_added_once() -> None:
    policy = directives(content_security_policy(script_sources=["https://a.example", "https://a.example"],
                                                frame_sources=["https://b.example"], frame_ancestors=["'self'"]))
    assert policy["script-src"][-1] == "https://a.example" and policy["script-src"].count("https://a.example") == 1
    assert policy["frame-src"] == ["https://b.example"] and policy["frame-ancestors"] == ["'self'"]


def test_the_visibility_script_is_hashed_as_served() -> None:
    script = (Path(__file__).resolve().parents[2] / "chalicelib/pages/templates/visibility.js").read_text()
    assert source_hash("\n" + script.removesuffix("\n")) in inline_hashes()["script"]


def test_a_form_is_framed_and_redirects_only_where_its_owner_allows(tmp_path: Path) -> None:
    policy = directives(form_policy(contact_with(tmp_path, allowedOrigins=["https://Shop.example.com"],
                                                 redirect="https://thanks.example.org/done")))
    assert policy["frame-ancestors"] == ["'self'", "https://shop.example.com"]
    assert policy["form-action"] == ["'self'", "https://shop.example.com", "https://thanks.example.org"]
    assert policy["script-src"] == list(inline_hashes()["script"])


@pytest.mark.parametrize(("provider", "script", "frame"), [
    ("turnstile", "https://challenges.cloudflare.com", "https://challenges.cloudflare.com"),
    ("hcaptcha", "https://hcaptcha.com", "https://*.hcaptcha.com"),
    ("recaptcha-v3", "https://www.google.com/recaptcha/", "https://www.google.com/recaptcha/"),
])
def test_a_captcha_widget_adds_its_providers_sources(tmp_path: Path, provider: str, script: str, frame: str) -> None:
    definition = contact_with(tmp_path, captcha={"provider": provider, "siteKey": "site-key-0123456789"})
    policy = directives(form_policy(definition))
    assert script in policy["script-src"] and frame in policy["frame-src"] and frame in policy["connect-src"]
    assert "'unsafe-inline'" not in policy["script-src"]


@pytest.mark.parametrize(("iri", "uri"), [
    ("/merci-ü-日本", "/merci-%C3%BC-%E6%97%A5%E6%9C%AC"),
    ("/a%20b?x=%C3%BC&y=1#top", "/a%20b?x=%C3%BC&y=1#top"),
    ("https://shop.example.com/ok ü", "https://shop.example.com/ok%20%C3%BC"),
    ("/\r\nSet-Cookie: x", "/%0D%0ASet-Cookie:%20x"),
    ("/\ud800", "/%ED%A0%80"),
    ("/%zz/100%/%4", "/%25zz/100%25/%254"),  # a % that starts no escape is a literal percent sign
])
def test_iri_to_uri(iri: str, uri: str) -> None:
    assert iri_to_uri(iri) == uri
    uri.encode("ascii")
