"""Real-world form shapes, each posted as its site posts it (headers included), through the HTTP app to DynamoDB
Local: the stored answers must come out typed and complete, and each client gets the answer it understands."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

SITE = "https://acme.example"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
           "Origin": SITE}
JQUERY = {"Accept": "*/*", "X-Requested-With": "XMLHttpRequest", "Origin": SITE}
FETCH = {"Accept": "application/json", "Origin": SITE}
URLENCODED = "application/x-www-form-urlencoded; charset=UTF-8"


def form(properties: dict[str, Any], required: list[str], **settings: Any) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "additionalProperties": False, "required": required, "properties": properties,
            "x-form": {"kind": "contact", "allowedOrigins": [SITE], **settings}}


TEXT = {"type": "string", "maxLength": 200}
EMAIL = {"type": "string", "format": "email", "maxLength": 254}
MESSAGE = {"type": "string", "maxLength": 5000}  # no widget: what an owner writes first
DEFINITIONS: dict[str, dict[str, Any]] = {
    # Formspree from a Hugo theme: _replyto, _subject, a relative _next, _gotcha.
    "hugo-contact": form({"name": TEXT, "message": MESSAGE}, ["name", "message"]),
    # Netlify: form-name, bot-field, role[] checkboxes.
    "netlify-contact": form({
        "form-name": {"type": "string", "const": "contact", "x-ui": {"widget": "hidden"}},
        "name": TEXT, "email": EMAIL,
        "role": {"type": "array", "items": {"enum": ["leader", "follower"]}, "uniqueItems": True},
        "message": MESSAGE,
    }, ["name", "email"], respondentEmail="email", spam={"honeypot": "bot-field"}),
    # A German agency's page: names with spaces and umlauts.
    "anfrage": form({
        "Vorname": TEXT, "Nachname": TEXT, "Straße und Hausnummer": TEXT, "E-Mail": EMAIL,
        "Anzahl Büroräume": {"type": "integer", "minimum": 1, "maximum": 99},
        "Ihre Nachricht": MESSAGE, "Datenschutz": {"type": "boolean", "const": True},
    }, ["Vorname", "E-Mail", "Datenschutz"], respondentEmail="E-Mail", locales=["de"]),
    # A sign-up: hidden+checkbox pairs, a checkbox group, Web3Forms' botcheck.
    "signup": form({
        "name": TEXT, "role": {"type": "array", "items": {"enum": ["design", "marketing", "sales"]}},
        "newsletter": {"type": "boolean"}, "terms": {"type": "boolean", "const": True},
    }, ["name", "terms"], spam={"honeypot": "botcheck"}),
    # A Getform-style page with an optional file input, sent by fetch(new FormData(form)).
    "apply": form({"name": TEXT, "email": EMAIL, "about": MESSAGE}, ["name", "email"], respondentEmail="email",
                  spam={"honeypot": "honeypot"}),
}


def multipart(parts: list[tuple[str, str] | tuple[str, str, str]], boundary: str) -> tuple[str, bytes]:
    """What a browser's FormData sends: text parts, and a file part (name, filename, bytes) per file input."""
    chunks = []
    for part in parts:
        if len(part) == 3:
            name, filename, data = part  # type: ignore[misc]
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
                          f"\r\nContent-Type: application/octet-stream\r\n\r\n{data}\r\n")
        else:
            name, value = part  # type: ignore[misc]
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    return f"multipart/form-data; boundary={boundary}", ("".join(chunks) + f"--{boundary}--\r\n").encode()


@dataclass(frozen=True)
class Shape:
    """One site's form: what it posts, how, and what Formloop must keep."""

    name: str
    form: str
    content_type: str
    body: bytes
    headers: dict[str, str]
    answers: dict[str, Any]
    status: int
    location: str | None = None  # where a browser is sent (303); None for scripts
    kept_as: str = "received"
    extra: dict[str, Any] = field(default_factory=dict)


def urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs).encode()


FIREFOX_FORMDATA = "----geckoformboundary4a1c0f2e9b7d"
SHAPES = [
    Shape("formspree: a two-line message, _replyto, _subject and a relative _next", "hugo-contact", URLENCODED,
          urlencoded([("name", "Jane Doe"), ("_replyto", "jane@example.com"),
                      ("message", "Hello,\r\nwe need a cake for forty guests."), ("_subject", "Cake order"),
                      ("_next", "thanks.html"), ("_gotcha", "")]),
          {**BROWSER, "Referer": f"{SITE}/contact/"},
          {"name": "Jane Doe", "message": "Hello,\r\nwe need a cake for forty guests."}, 303,
          location=f"{SITE}/contact/thanks.html", extra={"reply_to": "jane@example.com", "subject": "Cake order"}),
    Shape("netlify: form-name, an empty bot-field, role[] and the default thanks page with a way back",
          "netlify-contact", URLENCODED,
          urlencoded([("form-name", "contact"), ("bot-field", ""), ("name", "Max Mustermann"),
                      ("email", "max@example.com"), ("role[]", "leader"), ("role[]", "follower"),
                      ("message", "Hi!\r\nTwo lines.")]),
          {**BROWSER, "Referer": f"{SITE}/"},
          {"form-name": "contact", "name": "Max Mustermann", "email": "max@example.com",
           "role": ["leader", "follower"], "message": "Hi!\r\nTwo lines."}, 303,
          location="netlify-contact/thanks?" + urlencode({"back": f"{SITE}/"})),
    Shape("netlify: a bot filling bot-field is kept as spam and sees success", "netlify-contact", URLENCODED,
          urlencoded([("form-name", "contact"), ("bot-field", "http://spam.example"), ("name", "Bot"),
                      ("email", "bot@example.com")]),
          BROWSER, {"form-name": "contact", "name": "Bot", "email": "bot@example.com"}, 303,
          location="netlify-contact/thanks", kept_as="spam"),
    Shape("german: field names with spaces and umlauts, a typed number, a consent box", "anfrage", URLENCODED,
          urlencoded([("Vorname", "Jürgen"), ("Nachname", "Müller"), ("Straße und Hausnummer", "Hauptstraße 5"),
                      ("E-Mail", "juergen@example.de"), ("Anzahl Büroräume", "3"),
                      ("Ihre Nachricht", "Grüß Gott,\r\nwir brauchen ein Angebot."), ("Datenschutz", "on")]),
          {**BROWSER, "Accept-Language": "de-DE,de;q=0.9"},
          {"Vorname": "Jürgen", "Nachname": "Müller", "Straße und Hausnummer": "Hauptstraße 5",
           "E-Mail": "juergen@example.de", "Anzahl Büroräume": 3,
           "Ihre Nachricht": "Grüß Gott,\r\nwir brauchen ein Angebot.", "Datenschutz": True}, 303,
          location="anfrage/thanks", extra={"language": "de", "respondent_email": "juergen@example.de"}),
    Shape("signup: hidden+checkbox pairs and a checkbox group", "signup", URLENCODED,
          urlencoded([("name", "Kim"), ("role[]", "design"), ("role[]", "marketing"), ("newsletter", "0"),
                      ("newsletter", "1"), ("terms", "no"), ("terms", "yes"), ("botcheck", "")]),
          BROWSER, {"name": "Kim", "role": ["design", "marketing"], "newsletter": True, "terms": True}, 303,
          location="signup/thanks"),
    Shape("web3forms: a bot ticking botcheck is kept as spam", "signup", URLENCODED,
          urlencoded([("name", "Bot"), ("terms", "yes"), ("botcheck", "on")]),
          JQUERY, {"name": "Bot", "terms": True}, 201, kept_as="spam"),
    Shape("jquery $.ajax: urlencoded with X-Requested-With, a reCAPTCHA widget's token", "hugo-contact",
          URLENCODED,
          urlencoded([("name", "Ann Lee"), ("message", "Line one\nline two"), ("g-recaptcha-response", "03AFcWeA")]),
          {**JQUERY, "Referer": f"{SITE}/contact.html"}, {"name": "Ann Lee", "message": "Line one\nline two"}, 201),
    Shape("fetch(new FormData(form)): multipart with an empty file input and hCaptcha's fields", "apply",
          *multipart([("name", "Ann"), ("email", "ann@example.com"), ("about", "I design.\r\nAnd I code."),
                      ("cv", "", ""), ("honeypot", ""), ("h-captcha-response", "P1_eyJ"),
                      ("g-recaptcha-response", "P1_eyJ")], FIREFOX_FORMDATA),
          FETCH, {"name": "Ann", "email": "ann@example.com", "about": "I design.\r\nAnd I code."}, 201),
    Shape("fetch with JSON: a typed body and a two-line message", "netlify-contact", "application/json",
          json.dumps({"form-name": "contact", "name": "Lea", "email": "lea@example.com", "role": ["follower"],
                      "message": "Zwei\nZeilen", "cf-turnstile-response": "0.abc"}).encode(),
          {"Origin": SITE, "Content-Type": "application/json"},
          {"form-name": "contact", "name": "Lea", "email": "lea@example.com", "role": ["follower"],
           "message": "Zwei\nZeilen"}, 201),
]


@pytest.fixture
def real_forms(services, tmp_path: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The app serving DEFINITIONS instead of the shipped forms."""
    from chalicelib.forms.definitions import FormRegistry
    for form_id, definition in DEFINITIONS.items():
        (tmp_path / f"{form_id}.json").write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    original = services.forms
    services.forms = services.submissions.forms = FormRegistry(tmp_path)
    yield
    services.forms = services.submissions.forms = original


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_a_real_world_form_is_stored_typed_and_complete(client, services, real_forms, shape: Shape) -> None:  # type: ignore[no-untyped-def]
    response = client.http.post(f"/f/{shape.form}", headers={**shape.headers, "Content-Type": shape.content_type},
                                body=shape.body)
    assert response.status_code == shape.status, response.body
    if shape.location is None:
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.body)["status"] == "received"  # a bot cannot tell it was caught
    else:
        assert response.headers["Location"] == shape.location
    [stored] = list(services.store.list(shape.form))
    assert (stored.status, stored.answers) == (shape.kept_as, shape.answers)
    for name, value in shape.extra.items():
        assert getattr(stored, name) == value


# --- the conventions around the post ----------------------------------------------------------------------------------

def test_the_preflight_allows_jquerys_x_requested_with(client, real_forms) -> None:  # type: ignore[no-untyped-def]
    response = client.http.options("/f/hugo-contact", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-requested-with"})
    assert response.status_code == 204
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-requested-with", "accept"} <= allowed


def test_x_requested_with_gets_errors_as_problem_json(client, services, real_forms) -> None:  # type: ignore[no-untyped-def]
    response = client.http.post("/f/hugo-contact", headers={**JQUERY, "Content-Type": URLENCODED},
                                body=urlencoded([("message", "no name")]))
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in json.loads(response.body)["errors"]] == ["name"]
    assert list(services.store.list("hugo-contact")) == []


def test_a_script_that_gets_the_form_is_told_to_post(client, real_forms) -> None:  # type: ignore[no-untyped-def]
    response = client.http.get("/f/hugo-contact", headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "POST" in json.loads(response.body)["detail"]
    assert "accept" in response.headers["Vary"].lower()


@pytest.mark.parametrize("accept", [None, "text/html,application/xhtml+xml,*/*;q=0.8", "*/*",
                                    "application/json, text/html"])
def test_a_browser_still_gets_the_page(client, real_forms, accept: str | None) -> None:  # type: ignore[no-untyped-def]
    response = client.http.get("/f/hugo-contact", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert {part.strip().lower() for part in response.headers["Vary"].split(",")} >= {"accept", "origin"}


def test_the_thanks_page_links_back_to_the_posting_page(client, real_forms) -> None:  # type: ignore[no-untyped-def]
    posted = client.http.post("/f/netlify-contact", headers={**BROWSER, "Content-Type": URLENCODED,
                                                             "Referer": f"{SITE}/kontakt.html?ref=nav"},
                              body=urlencoded([("name", "Max"), ("email", "max@example.com")]))
    location = urlsplit(posted.headers["Location"])
    assert parse_qs(location.query) == {"back": [f"{SITE}/kontakt.html?ref=nav"]}
    page = client.http.get(f"/f/{location.path}?{location.query}").body.decode()
    assert f'href="{SITE}/kontakt.html?ref=nav"' in page.replace("&amp;", "&")


@pytest.mark.parametrize("back", ["https://evil.example/", "javascript:alert(1)", "//evil.example/x"])
def test_the_thanks_page_links_nowhere_else(client, real_forms, back: str) -> None:  # type: ignore[no-untyped-def]
    page = client.http.get("/f/netlify-contact/thanks?" + urlencode({"back": back}))
    assert page.status_code == 200
    assert "evil" not in page.body.decode() and "javascript:" not in page.body.decode()


def test_a_referer_from_another_site_gives_no_way_back(client, real_forms) -> None:  # type: ignore[no-untyped-def]
    posted = client.http.post("/f/netlify-contact", headers={**BROWSER, "Content-Type": URLENCODED,
                                                             "Referer": "https://evil.example/page"},
                              body=urlencoded([("name", "Max"), ("email", "max@example.com")]))
    assert posted.headers["Location"] == "netlify-contact/thanks"
