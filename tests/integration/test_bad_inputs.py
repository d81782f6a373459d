"""A catalogue of malformed and hostile posts to /f/{form}: each gets its own 4xx, a clear message, nothing stored.

Every case runs twice: as a script (Accept: application/json, answered with problem+json) and as a
browser form post (Accept: text/html, answered with an HTML page), because both clients must get
the same status and a message they can act on, and neither may ever see a 5xx.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest

FORMS = ("contact", "customer-survey")
URLENCODED = "application/x-www-form-urlencoded"
JSON = "application/json"
CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "More colours, please",
           "consent": "on"}
CONTACT_JSON = {**CONTACT, "consent": True}
SURVEY = {"nps": "9", "email": "bob@example.com"}
SURVEY_JSON = {"nps": 9, "email": "bob@example.com"}
BOUNDARY = "formloopboundary"


@dataclass(frozen=True)
class Case:
    """One bad request and what Formloop must answer."""

    form: str
    content_type: str | None
    body: bytes
    status: int
    # A phrase the problem `detail` must contain, or (for 422) the fields the `errors` must name.
    detail: str = ""
    fields: frozenset[str] = field(default_factory=frozenset)
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)


def form(fields: dict[str, str] | list[tuple[str, str]], **overrides: str) -> bytes:
    """A urlencoded body."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    merged = dict(pairs)
    merged.update(overrides)
    return urlencode(merged).encode()


def as_json(payload: object) -> bytes:
    return json.dumps(payload).encode()


def multipart(parts: list[tuple[str, str]], boundary: str = BOUNDARY) -> bytes:
    """A multipart body where each part is (extra Content-Disposition params, value)."""
    chunks = [f"--{boundary}\r\nContent-Disposition: form-data; {params}\r\n\r\n{value}\r\n" for params, value in parts]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


def urlenc(form_id: str, body: bytes, status: int, *, detail: str = "", fields: tuple[str, ...] = ()) -> Case:
    return Case(form_id, URLENCODED, body, status, detail, frozenset(fields))


def jsonc(form_id: str, body: bytes, status: int, *, detail: str = "", fields: tuple[str, ...] = ()) -> Case:
    return Case(form_id, JSON, body, status, detail, frozenset(fields))


NESTED_50 = ('{"name": ' + "[" * 50 + "]" * 50 + "}").encode()
CONTACT_REQUIRED = ("name", "email", "topic", "message", "consent")

CASES: dict[str, Case] = {
    # Header injection: single-line fields must not carry line breaks into email headers.
    "crlf-in-name": urlenc("contact", form(CONTACT, name="Ann\r\nBcc: victim@example.net"), 422, fields=("name",)),
    "crlf-in-subject": urlenc("contact", form(CONTACT, _subject="Hi\r\nBcc: victim@example.net"), 422,
                              fields=("_subject",)),
    "crlf-in-replyto": urlenc("contact", form(CONTACT, _replyto="a@example.com\r\nBcc: victim@example.net"), 422,
                              fields=("_replyto",)),
    "lf-in-replyto-json": jsonc("contact", as_json({**CONTACT_JSON, "_replyto": "a@example.com\nCc: x@example.net"}),
                                422, fields=("_replyto",)),
    "line-separator-in-name": jsonc("contact", as_json({**CONTACT_JSON, "name": "Ann\u2028Lee"}), 422,
                                    fields=("name",)),
    "null-byte-in-name": urlenc("contact", form(CONTACT, name="Ann\x00Lee"), 422, fields=("name",)),
    "null-byte-in-message": jsonc("contact", as_json({**CONTACT_JSON, "message": "hello\x00world"}), 422,
                                  fields=("message",)),
    "replyto-not-an-email": urlenc("contact", form(CONTACT, _replyto="not an address"), 422, fields=("_replyto",)),
    # Sizes.
    "10000-fields": urlenc("contact", "&".join(f"{i}=" for i in range(10_000)).encode(), 413,
                           detail="More than 200 fields"),
    "10000-repeated-keys": urlenc("customer-survey", ("nps=1&" * 10_000).encode(), 413,
                                  detail="More than 200 fields"),
    "100kb-body": urlenc("contact", form(CONTACT, message="x" * 100_000), 413, detail="at most 65,536"),
    "30000-char-field": urlenc("contact", form(CONTACT, message="y" * 30_000), 413, detail="'message' is 30,000"),
    "30000-char-json-string": jsonc("contact", as_json({**CONTACT_JSON, "message": "y" * 30_000}), 413,
                                    detail="30,000 characters"),
    "json-nested-50-deep": jsonc("contact", NESTED_50, 413, detail="nested more than 8 levels"),
    "json-10000-array-items": jsonc("customer-survey", as_json({**SURVEY_JSON, "features": [0] * 10_000}),
                                    413, detail="More than 200 values"),
    "multipart-10000-parts": Case("contact", f"multipart/form-data; boundary={BOUNDARY}",
                                  multipart([(f'name="f{i}"', "1") for i in range(1000)] * 10)[:65_000], 413,
                                  detail="More than 200 fields"),
    # JSON that is not JSON, or numbers DynamoDB cannot hold exactly.
    "json-nan": jsonc("customer-survey", b'{"nps": NaN, "email": "bob@example.com"}', 400, detail="NaN is not valid"),
    "json-infinity": jsonc("customer-survey", b'{"nps": Infinity, "email": "bob@example.com"}', 400,
                           detail="Infinity is not valid"),
    "json-minus-infinity": jsonc("customer-survey", b'{"nps": -Infinity, "email": "bob@example.com"}', 400,
                                 detail="-Infinity is not valid"),
    "json-1e400": jsonc("customer-survey", b'{"nps": 1e400, "email": "bob@example.com"}', 400, detail="out of range"),
    "json-60-digit-integer": jsonc("customer-survey", b'{"nps": ' + b"7" * 60 + b', "email": "bob@example.com"}',
                                   400, detail="more than 38 digits"),
    "json-lone-surrogate": jsonc("contact", b'{"name": "\\ud800", "email": "ann@example.com"}', 400,
                                 detail="unpaired surrogate"),
    "json-lone-surrogate-in-key": jsonc("contact", b'{"\\udfff": "x"}', 400, detail="unpaired surrogate"),
    "json-invalid-utf8": jsonc("contact", b'{"name": "Ann \xff\xfe"}', 400, detail="not valid UTF-8"),
    "json-duplicate-keys": jsonc("contact", b'{"name": "Ann", "name": "Bob"}', 400, detail="'name' twice"),
    "json-empty-key": jsonc("contact", b'{"": "x", "name": "Ann"}', 400, detail="empty key"),
    "json-invalid": jsonc("contact", b'{"name": "Ann",}', 400, detail="not valid JSON"),
    "json-truncated": jsonc("contact", b'{"name": "Ann"', 400, detail="not valid JSON"),
    "json-empty-body": jsonc("contact", b"", 400, detail="not valid JSON"),
    "json-top-level-array": jsonc("contact", b'[{"name": "Ann"}]', 400, detail="must be an object"),
    "json-top-level-string": jsonc("contact", b'"Ann"', 400, detail="must be an object"),
    "json-top-level-number": jsonc("contact", b"42", 400, detail="must be an object"),
    "json-top-level-null": jsonc("contact", b"null", 400, detail="must be an object"),
    # Form bodies that cannot be read.
    "urlencoded-invalid-utf8-bytes": urlenc("contact", b"name=Ann\xff&email=ann%40example.com", 400,
                                            detail="not valid UTF-8"),
    "urlencoded-invalid-utf8-escape": urlenc("contact", b"name=Ann%FF%FE&email=ann%40example.com", 400,
                                             detail="not valid UTF-8"),
    "urlencoded-field-without-name": urlenc("contact", b"=orphan&" + form(CONTACT), 400, detail="without a name"),
    "multipart-without-boundary": Case("contact", "multipart/form-data", multipart(list(
        (f'name="{k}"', v) for k, v in CONTACT.items())), 400, detail="needs a boundary"),
    "multipart-file-part": Case("contact", f"multipart/form-data; boundary={BOUNDARY}", multipart(
        [('name="name"', "Ann"), ('name="cv"; filename="cv.pdf"', "%PDF-1.4")]), 415, detail="File uploads"),
    "multipart-malformed": Case("contact", f"multipart/form-data; boundary={BOUNDARY}",
                                b"--" + BOUNDARY.encode() + b"\r\nthis is not a header line\r\n\r\nAnn\r\n", 400,
                                detail="multipart body cannot be read"),
    "multipart-part-without-disposition": Case(
        "contact", f"multipart/form-data; boundary={BOUNDARY}",
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nAnn\r\n--{BOUNDARY}--\r\n".encode(), 400,
        detail="no Content-Disposition"),
    "multipart-invalid-utf8": Case("contact", f"multipart/form-data; boundary={BOUNDARY}",
                                   multipart([('name="name"', "Ann")]).replace(b"Ann", b"A\xffn"), 400,
                                   detail="not valid UTF-8"),
    # Content types Formloop does not read.
    "json-sent-as-text-plain": Case("contact", "text/plain", as_json(CONTACT_JSON), 415,
                                    detail="send it with Content-Type: application/json"),
    "application-xml": Case("contact", "application/xml", b"<contact><name>Ann</name></contact>", 415,
                            detail="application/xml is not supported"),
    "octet-stream": Case("contact", "application/octet-stream", b"\x00\x01\x02", 415,
                         detail="application/octet-stream is not supported"),
    "image-png": Case("contact", "image/png", b"\x89PNG\r\n\x1a\n", 415, detail="image/png is not supported"),
    "text-html": Case("contact", "text/html", b"<p>Ann</p>", 415, detail="text/html is not supported"),
    "garbage-content-type": Case("contact", ";;;", form(CONTACT), 415, detail="is not supported; send one of"),
    "no-content-type": Case("contact", None, form(CONTACT), 415, detail="no content type is not supported"),
    "multipart-empty-boundary": Case("contact", "multipart/form-data; boundary=", multipart(
        [('name="name"', "Ann")]), 400, detail="needs a boundary"),
    "charset-latin-1": Case("contact", f"{URLENCODED}; charset=latin-1", form(CONTACT), 415,
                            detail="'latin-1' is not supported"),
    "json-charset-utf-16": Case("contact", f"{JSON}; charset=utf-16", as_json(CONTACT_JSON), 415,
                                detail="'utf-16' is not supported"),
    # Unknown forms, including ids that try to leave the forms folder.
    "form-dotdot-slash-encoded": jsonc("..%2F..%2Fforms%2Fcontact", as_json(CONTACT_JSON), 404,
                                       detail="no form with this address"),
    "form-dotdot-encoded": jsonc("..%2Fcontact", as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-dotdot": jsonc("..", as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-hash": jsonc(quote("contact#x", safe=""), as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-nul": jsonc("contact%00", as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-uppercase": jsonc("Contact", as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-200-chars": jsonc("c" * 200, as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-with-extension": jsonc("contact.json", as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-unicode": jsonc(quote("контакт", safe=""), as_json(CONTACT_JSON), 404, detail="no form with this address"),
    "form-missing": jsonc("no-such-form", as_json(CONTACT_JSON), 404, detail="no form with this address"),
    # Answers of the wrong type or out of range.
    "nps-as-word": jsonc("customer-survey", as_json({**SURVEY_JSON, "nps": "nine"}), 422, fields=("nps",)),
    "name-as-list": jsonc("contact", as_json({**CONTACT_JSON, "name": ["Ann", "Lee"]}), 422, fields=("name",)),
    "email-as-object": jsonc("contact", as_json({**CONTACT_JSON, "email": {"user": "ann"}}), 422, fields=("email",)),
    "message-as-bool": jsonc("contact", as_json({**CONTACT_JSON, "message": True}), 422, fields=("message",)),
    "consent-as-number": jsonc("contact", as_json({**CONTACT_JSON, "consent": 1}), 422, fields=("consent",)),
    "nps-11": urlenc("customer-survey", form(SURVEY, nps="11"), 422, fields=("nps",)),
    "nps-minus-1": urlenc("customer-survey", form(SURVEY, nps="-1", reason="Too slow"), 422, fields=("nps",)),
    "nps-nan-text": urlenc("customer-survey", form(SURVEY, nps="nan"), 422, fields=("nps",)),
    "nps-50-digits-text": urlenc("customer-survey", form(SURVEY, nps="9" * 50), 422, fields=("nps",)),
    "csat-2.5": urlenc("customer-survey", form(SURVEY, csat="2.5"), 422, fields=("csat",)),
    "csat-2.5-json": jsonc("customer-survey", as_json({**SURVEY_JSON, "csat": 2.5}), 422, fields=("csat",)),
    "features-unknown-choice": urlenc("customer-survey", form(SURVEY) + b"&features=prices&features=cheese", 422,
                                      fields=("features/1",)),
    "features-duplicates": urlenc("customer-survey", form(SURVEY) + b"&features=prices&features[]=prices", 422,
                                  fields=("features",)),
    "consent-missing": urlenc("contact", form({k: v for k, v in CONTACT.items() if k != "consent"}), 422,
                              fields=("consent",)),
    "consent-off": urlenc("contact", form(CONTACT, consent="off"), 422, fields=("consent",)),
    "consent-gibberish": urlenc("contact", form(CONTACT, consent="yes please"), 422, fields=("consent",)),
    "topic-not-a-choice": urlenc("contact", form(CONTACT, topic="rant"), 422, fields=("topic",)),
    "email-too-long": urlenc("contact", form(CONTACT, email="a" * 250 + "@example.com"), 422, fields=("email",)),
    "phone-with-letters": urlenc("contact", form(CONTACT, phone="call me maybe"), 422, fields=("phone",)),
    "unknown-extra-field": urlenc("contact", form(CONTACT, password="hunter2"), 422, fields=("password",)),
    "empty-body-contact": urlenc("contact", b"", 422, fields=CONTACT_REQUIRED),
    "empty-body-survey": urlenc("customer-survey", b"", 422, fields=("nps", "email")),
    "low-nps-without-reason": urlenc("customer-survey", form(SURVEY, nps="3"), 422, fields=("reason",)),
    # Wrong methods.
    "put": Case("contact", JSON, as_json(CONTACT_JSON), 405, detail="PUT is not allowed", method="PUT"),
    "delete": Case("contact", JSON, b"", 405, detail="DELETE is not allowed", method="DELETE"),
}


def _send(client, case: Case, accept: str):  # type: ignore[no-untyped-def]
    headers = {"Accept": accept, **case.headers}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return client.http.request(case.method, f"/f/{case.form}", headers=headers, body=case.body)


def _assert_nothing_stored(services) -> None:  # type: ignore[no-untyped-def]
    assert {form_id: services.store.count(form_id) for form_id in FORMS} == dict.fromkeys(FORMS, 0)


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 35
    assert {case.status for case in CASES.values()} >= {400, 404, 405, 413, 415, 422}


@pytest.mark.parametrize("name", list(CASES))
def test_json_client_gets_problem_details(client, services, name):  # type: ignore[no-untyped-def]
    case = CASES[name]
    response = _send(client, case, "application/json")
    assert response.status_code == case.status, response.body[:500]
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.body)
    assert problem["status"] == case.status and problem["title"]
    assert case.detail in problem["detail"]
    if case.status == 422:
        named = {error["field"] for error in problem["errors"]}
        assert named == case.fields, problem["errors"]
        assert all(error["message"] and error["pointer"] == "/" + error["field"] for error in problem["errors"])
    _assert_nothing_stored(services)


@pytest.mark.parametrize("name", list(CASES))
def test_browser_gets_the_same_status_and_a_readable_page(client, services, name):  # type: ignore[no-untyped-def]
    case = CASES[name]
    response = _send(client, case, "text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == case.status, response.body[:500]
    text = response.body.decode()
    if response.headers["Content-Type"].startswith("text/html"):
        page = html.unescape(text)
        assert case.detail in page
        if case.status == 422:
            # The form comes back with each error beside its question, or in the summary for other fields.
            questions = {q.name for q in services.forms.get(case.form).questions}
            for name_ in case.fields:
                top = name_.split("/")[0]
                assert f'id="q-{top}-error"' in text if top in questions else f"<li>{name_}: " in page, name_
    else:
        # A JSON body is answered in JSON whatever Accept says.
        assert (case.content_type or "").startswith(JSON)
        assert case.detail in json.loads(text)["detail"]
    _assert_nothing_stored(services)


def test_dot_segments_never_reach_a_form(client, services):  # type: ignore[no-untyped-def]
    # Clients resolve `..` before sending; one that does not hits no route, which API Gateway answers itself.
    response = client.http.post("/f/../contact", headers={"Content-Type": JSON}, body=as_json(CONTACT_JSON))
    assert response.status_code in (403, 404)
    _assert_nothing_stored(services)


@pytest.mark.parametrize("next_url", [
    "javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>", "http://[oops/x",
    "https://[::1", "//[", "/\\evil.example.net",
])
def test_hostile_next_is_stored_and_falls_back_to_thanks(client, services, next_url):  # type: ignore[no-untyped-def]
    # A valid submission with a bad `_next` is kept: the visitor's message matters more than their redirect.
    response = client.http.post("/f/contact", headers={"Content-Type": URLENCODED}, body=form(CONTACT, _next=next_url))
    assert response.status_code == 303
    assert response.headers["Location"] == "contact/thanks"
    assert services.store.count("contact") == 1


@pytest.mark.parametrize("origin", ["http://[", "https://[::1", "null", "not a url"])
def test_malformed_origin_header_is_not_a_server_error(  # type: ignore[no-untyped-def]
        client, services, forms_open_to_any_site, origin):
    response = client.http.post("/f/contact", headers={"Content-Type": URLENCODED, "Origin": origin,
                                                        "Host": "forms.example.com"}, body=form(CONTACT))
    assert response.status_code == 303
    assert services.store.count("contact") == 1


def test_long_idempotency_key_header_still_deduplicates(client, services):  # type: ignore[no-untyped-def]
    # The key is hashed before it is stored, so any length a proxy lets through works.
    key = "k" * 4000
    headers = {"Content-Type": JSON, "Idempotency-Key": key}
    first = client.http.post("/f/contact", headers=headers, body=as_json(CONTACT_JSON))
    again = client.http.post("/f/contact", headers=headers, body=as_json(CONTACT_JSON))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json_body["id"] == again.json_body["id"]
    assert services.store.count("contact") == 1


def test_json_numbers_as_text_from_form_data_are_accepted(client, services):  # type: ignore[no-untyped-def]
    # `JSON.stringify(Object.fromEntries(new FormData(form)))` sends every answer as text.
    response = client.http.post("/f/customer-survey", headers={"Content-Type": JSON},
                                body=as_json({"nps": "9", "email": "bob@example.com"}))
    assert response.status_code == 201
    [stored] = list(services.store.list("customer-survey"))
    assert stored.answers["nps"] == 9


def test_post_from_an_unlisted_site_is_403_and_stores_nothing(  # type: ignore[no-untyped-def]
    client, services, shop_only_contact,
) -> None:
    for accept in ("application/json", "text/html"):
        response = client.http.post("/f/contact", body=form(CONTACT), headers={
            "Content-Type": URLENCODED, "Accept": accept, "Origin": "https://evil.example.net"})
        assert response.status_code == 403
        assert "does not accept posts from https://evil.example.net" in html.unescape(response.body.decode())
        assert "Access-Control-Allow-Origin" not in response.headers
    _assert_nothing_stored(services)
