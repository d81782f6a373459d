"""Random requests to every route the app registers (read from Chalice's `app.routes`, so a new route is fuzzed
without editing this file), aimed at real things: a seeded submission of each kind with its case, a gift promised
and one claimed, a signed-in dashboard session with its CSRF token. Each request is sent signed in, signed in with
an expired or forged cookie, or not at all; with each route's accepted content types most of the time; from an
allowed, a foreign, a `null` or no Origin, and with varied Host, Referer, Accept and Cookie headers.

Whatever it is, the answer is below 500 with headers HTTP can carry; it carries nosniff, a referrer policy and a
Content-Security-Policy; the CORS routes answer `Vary: Origin` whatever the Origin, and give
Access-Control-Allow-Origin only to an origin the form lists, while no other route sends any CORS header. A
refused request (4xx), and any GET, HEAD or OPTIONS, leaves every table as it was, but for the counters of wrong
guesses (gift links with a wrong token, wrong admin keys) that the guards keep.

Also: a valid post is never stored without a well-formed answer, whatever its `_next` and extra fields.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.admin_support import KEY
from tests.integration.test_fuzz import FIELD_NAMES, header_text, json_bodies, multipart_bodies, urlencoded_bodies
from tests.written_tables import tables_written

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MULTIPART = "multipart/form-data; boundary=fuzzb"
URLENCODED = "application/x-www-form-urlencoded"
# What the submit path reads itself (its route takes every type from Chalice and refuses others with a 415).
SUBMIT_TYPES = (URLENCODED, MULTIPART, "application/json")
CONTENT_TYPES = [*SUBMIT_TYPES, "text/plain", "text/csv", "application/octet-stream", "application/xml",
                 "application/merge-patch+json", "application/json; charset=utf-8", "text/plain; charset=latin-1"]
ANSWERED = range(200, 400)
FORMS = ["contact", "customer-survey", "product-feedback"]
CAMPAIGN = "spring-coupon"  # the customer survey's gift campaign (forms/gifts/spring-coupon.json)
ALLOWED_ORIGINS = ["http://127.0.0.1:8002", "http://localhost:8002"]  # every shipped form's allowedOrigins
FOREIGN = "https://evil.example"
HOSTILE = ["..", "%2e%2e%2f", "a" * 300, "<script>alert(1)</script>", "01J0000000000000000000000A", " ", "ü日本",
           "null", "\x00", "contact#01J0000000000000000000000A", "g_0123456789abcdef0123456789abcdef", "attempts#x"]
STATUSES = ["new", "open", "answered", "resolved", "closed"]
text = st.text(max_size=30)


@dataclass(frozen=True)
class Route:
    """One method of one registered route, and the content types it takes (None: a request without one)."""

    path: str
    method: str
    methods: tuple[str, ...]  # every method registered on the path
    takes: tuple[str | None, ...]


def _routes() -> list[Route]:
    import app as app_module
    found = []
    for path, entries in sorted(app_module.app.routes.items()):
        for method, entry in sorted(entries.items()):
            declared = getattr(entry.view_function, "accepted_types", None)  # media.takes, behind Chalice's */*
            if declared:
                takes: tuple[str | None, ...] = tuple(declared)
            elif entry.content_types == ["*/*"]:
                takes = SUBMIT_TYPES
            elif entry.content_types == ["application/json"]:  # Chalice's default: a route that reads no body
                takes = (None, "application/json")
            else:
                takes = tuple(entry.content_types)
            found.append(Route(path, method, tuple(sorted(entries)), takes))
    return found


ROUTES = _routes()
CORS_ROUTES = frozenset({"/f/{form_id}", "/f/{form_id}/schema"})  # chalicelib/routes/headers.CORS_ROUTES
deep_json = st.integers(9, 3000).map(lambda depth: ('{"t": ' + "[" * depth + "]" * depth + "}").encode())
hostile_bodies = st.one_of(json_bodies, urlencoded_bodies, multipart_bodies, deep_json, st.binary(max_size=200))
hostile_values = st.one_of(st.sampled_from(HOSTILE), text.filter(bool))


@dataclass
class World:
    """What the fuzz aims at: real submissions with their cases, gifts, and a signed-in dashboard."""

    cases: list[tuple[str, str]]  # (form, submission id), each with its case opened
    gifts: list[tuple[str, str]]  # (gift id, token): one promised, one claimed
    code: str  # the claimed gift's code
    session: str  # "formloop_session=…", signed in through /admin/sign-in
    csrf: str  # the session's CSRF token, read from its inbox page
    sign_in: str  # "formloop_sign_in=…", the sign-in page's nonce cookie
    sign_in_csrf: str  # the sign-in page's CSRF token
    expired: str  # a session cookie signed with the right secret, past its hours
    tables: list[str]


def _post(client: Any, form: str, answers: dict[str, Any]) -> str:
    posted = client.http.post(f"/f/{form}", headers={"Content-Type": "application/json",
                                                     "Accept": "application/json"}, body=json.dumps(answers))
    assert posted.status_code == 201, posted.body
    return str(json.loads(posted.body)["id"])


def _csrf(body: bytes) -> str:
    found = re.search(rb'name="csrf" value="([^"]+)"', body)
    assert found, body[:500]
    return found[1].decode()


def _set_cookie(response: Any, name: str) -> str:
    header = {k.lower(): v for k, v in response.headers.items()}.get("set-cookie", "")
    assert header.startswith(f"{name}="), header
    return header.split(";")[0]


@pytest.fixture
def world(client: Any, services: Any, admin: None) -> World:
    """Seeded through the app's own paths: posts over HTTP, their cases opened by the post-write consumers (as the
    stream does), five gift codes generated, two gifts promised and one of them claimed; then signed in."""
    from chalicelib.cases.session import SESSION_COOKIE, SESSION_HOURS, issue
    from chalicelib.core.clock import utcnow
    from chalicelib.jobs import dispatch
    services.gifts.generate(CAMPAIGN, 5)
    posted = [("contact", _post(client, "contact", {**CONTACT, "topic": topic, "message": message, "email": email}))
              for topic, message, email in (("idea", "Dark mode, please", "ann@example.com"),
                                            ("referral", "My neighbour Bo wants a quote", "bo@example.com"),
                                            ("complaint", "The lid broke", "cy@example.com"))]
    posted.append(("contact", _post(client, "contact", {**CONTACT, "email": "win@prize.example", "_gotcha": "x"})))
    posted += [("customer-survey", _post(client, "customer-survey", {**SURVEY, "email": email}))
               for email in ("sam@example.com", "kim@example.com")]
    gifts = []
    for form, submission_id in posted:
        submission = services.store.get(form, submission_id)
        dispatch(services.consumers, submission)
        assert services.cases.get(form, submission_id) is not None
        if form == "customer-survey":
            promised = services.gifts.promise(submission)
            gifts.append((promised.gift.id, promised.token))
    claimed = services.gifts.claim(*gifts[-1]).gift
    page = client.http.get("/admin")
    sign_in, sign_in_csrf = _set_cookie(page, "formloop_sign_in"), _csrf(page.body)
    signed_in = client.http.post("/admin/sign-in", headers={"Content-Type": URLENCODED, "Cookie": sign_in},
                                 body=urlencode({"csrf": sign_in_csrf, "key": KEY}))
    assert signed_in.status_code == 303, signed_in.body
    session = _set_cookie(signed_in, SESSION_COOKIE)
    inbox = client.http.get("/admin/inbox", headers={"Cookie": session})
    assert inbox.status_code == 200, inbox.body[:300]
    secret = services.settings.secret("session_secret")
    expired, _ = issue(secret, "admin", utcnow() - timedelta(hours=SESSION_HOURS, minutes=1))
    tables = sorted({model.Meta.table_name for store in services.stores for model in store.models})
    return World(posted, gifts, claimed.code, session, _csrf(inbox.body), sign_in, sign_in_csrf,
                 f"{SESSION_COOKIE}={expired}", tables)


CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "Hi", "consent": True}
SURVEY = {"nps": 9, "reason": "Fast delivery", "email": "bob@example.com"}
VALID: dict[str, dict[str, Any]] = {
    "contact": CONTACT, "customer-survey": SURVEY,
    "product-feedback": {"email": "cy@example.com", "product": "app", "satisfaction": 4, "nps": 9,
                         "agreement": {"easy": 4, "fast": 5, "value": 3}, "improve": "Search", "consent": True},
}
CONTROL = ["_next", "_gotcha", "_replyto", "_subject", "_language", "_idempotency", "_source"]
# The fields each action reads (by the route's last segment); others are noise it must ignore.
ACTION_FIELDS = {
    "sign-in": ["csrf", "key", "next"], "sign-out": ["csrf"], "status": ["csrf", "status", "note", "version"],
    "reply": ["csrf", "text", "version"], "decision": ["csrf", "decision", "note", "version"],
    "outcome": ["csrf", "outcome", "version"], "resend": ["csrf", "email"], "not-spam": ["csrf"], "delete": ["csrf"],
    "export": ["email", "cursor"], "erase": ["email", "cursor"], "redeem": ["code", "t"], "revoke": ["gift"],
    "replay": ["since"], "{gift_id}": ["t"],
}


def _values(world: World, route: Route) -> dict[str, list[str]]:
    """Realistic values of each field and query parameter: the real ids, tokens and codes among wrong ones."""
    mine, other = world.csrf, world.sign_in_csrf
    if route.path.endswith("sign-in"):
        mine, other = other, mine
    case_pages = [f"/admin/cases/{form}/{submission_id}" for form, submission_id in world.cases]
    return {
        "csrf": [mine] * 7 + [other, "forged", ""],
        "key": [KEY, KEY, "wrong-key", ""],
        "next": ["/admin/inbox?folder=spam", *case_pages[:2], f"{FOREIGN}/", "//evil.example", "/admin/../x"],
        "status": [*STATUSES, "spam", "all", "lost"],
        "note": ["Checked with the warehouse", "", "x" * 3000],
        "version": ["", "", "", "0", "1", "2", "abc", "9999999999"],
        "text": ["Thanks, it ships on Monday.", "   "],
        "decision": ["accepted", "declined", "maybe"],
        "outcome": ["Signed a contract", ""],
        "email": ["acknowledgement", "notification", "ann@example.com", " ANN@Example.COM ", "nobody@example.com"],
        "cursor": ["", "garbage", "eyJhZnRlciI6ImEjYiNjI2QifQ"],
        "code": [world.code, world.code.lower(), "NOPE-0000"],
        "t": [token for _, token in world.gifts] + ["wrong-token"],
        "gift": [gift_id for gift_id, _ in world.gifts] + ["nope"],
        "since": ["2026-01-01T00:00:00Z", "2026-13-45", "yesterday"],
        "lang": ["en", "ru", "hi", "xx"],
        "format": ["csv", "json", "html", "xml"],
        "limit": ["1", "25", "0", "-1", "100000"],
        "folder": ["inbox", "spam", "trash"],
        "form": [*FORMS, "nope"],
        "kind": ["idea", "complaint", "referral", "bogus"],
        "until": ["2030-01-01", "2026-02-30"],
        "overdue": ["1", "0"],
        "done": ["reply", "deleted", "not-spam", "x"],
        "back": [f"{ALLOWED_ORIGINS[0]}/contact.html", f"{FOREIGN}/", "javascript:alert(1)"],
        "address": ["ann@example.com", "kim@example.com"],
        "source": ["newsletter", f"{ALLOWED_ORIGINS[0]}/"],
        "utm_source": ["news"],
    }


TEXT = object()  # in a list of choices: any printable header text


def _rare(draw: st.DrawFn, one_in: int) -> bool:
    """True once in `one_in` draws; False in Hypothesis's simplest example, so that one takes the usual path."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


def _one(draw: st.DrawFn, choices: list[Any]) -> Any:
    """One of `choices` (repeated ones weigh more); TEXT stands for any printable text."""
    chosen = draw(st.sampled_from(choices))
    return draw(header_text) if chosen is TEXT else chosen


@st.composite
def _pick(draw: st.DrawFn, choices: list[str]) -> str:
    """Mostly one of `choices`, sometimes anything."""
    return draw(text) if not choices or _rare(draw, 8) else draw(st.sampled_from(choices))


def _encode(fields: list[tuple[str, Any]], content_type: str | None) -> bytes:
    """The fields as the content type says (urlencoded for the types that are not JSON or multipart)."""
    def plain(value: Any) -> str:
        return "on" if value is True else value if isinstance(value, str) else json.dumps(value)
    if content_type and content_type.startswith("application/json"):
        return json.dumps(dict(fields)).encode()
    if content_type == MULTIPART:
        return b"".join(f'--fuzzb\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{plain(v)}\r\n'
                        .encode("utf-8", "surrogatepass") for k, v in fields) + b"--fuzzb--\r\n"
    return urlencode([(k.encode("utf-8", "surrogatepass"), plain(v).encode("utf-8", "surrogatepass"))
                      for k, v in fields]).encode()


@st.composite
def _answers(draw: st.DrawFn, form: str, values: dict[str, list[str]]) -> list[tuple[str, Any]]:
    """A form's valid answers, sometimes with one dropped or replaced, and control fields and noise added."""
    answers = list(VALID.get(form, CONTACT).items())
    if answers and _rare(draw, 4):
        changed = draw(st.integers(0, len(answers) - 1))
        answers[changed:changed + 1] = [] if draw(st.booleans()) else [(answers[changed][0], draw(text))]
    extra = draw(st.lists(st.tuples(st.sampled_from(CONTROL), text), max_size=2))
    if _rare(draw, 4):  # answers to questions the form does not ask
        extra += draw(st.lists(st.tuples(st.one_of(st.sampled_from(FIELD_NAMES), text), text), max_size=2))
    if _rare(draw, 3):
        extra.append(("_next", draw(_pick([*values["back"], "/thanks.html", "thanks.html", "/merci-ü"]))))
    return answers + extra


@st.composite
def requests(draw: st.DrawFn, world: World, route: Route) -> tuple[str, str, dict[str, str], bytes]:
    """A method, a URL, headers and a body for `route`, aimed at the world's real things (or at wrong ones)."""
    # OPTIONS on a route without its own is answered by API Gateway (and, differently, by Chalice's test
    # client), never by Formloop.
    others = [method for method in METHODS if method != "OPTIONS" or "OPTIONS" in route.methods]
    method = draw(st.sampled_from(others)) if _rare(draw, 10) else route.method
    values = _values(world, route)
    form, submission_id = draw(st.sampled_from(world.cases))
    gift_id, _ = draw(st.sampled_from(world.gifts))
    real = {"form_id": form if "{submission_id}" in route.path else draw(st.sampled_from(FORMS)),
            "submission_id": submission_id, "gift_id": gift_id, "campaign": CAMPAIGN}

    # No webhook target, event or outbox file is seeded: those take the shape of one.
    filled = {name: draw(hostile_values) if _rare(draw, 6) else real.get(name, "x.eml" if name == "name" else "x")
              for name in re.findall(r"\{(\w+)\}", route.path)}
    path = re.sub(r"\{(\w+)\}", lambda match: quote(filled[match.group(1)], safe=""), route.path)
    names = st.one_of(st.sampled_from(sorted(values)), text)
    query = draw(st.lists(names.flatmap(lambda name: st.tuples(st.just(name), _pick(values.get(name, [])))),
                          max_size=3))
    url = f"{path}?{urlencode(query)}" if query else path

    content_type = draw(st.one_of(st.sampled_from(CONTENT_TYPES), header_text)) if _rare(draw, 8) else \
        draw(st.sampled_from(route.takes))
    action = route.path.rsplit("/", 1)[-1]
    if _rare(draw, 10):
        body = draw(hostile_bodies)
    elif route.path == "/f/{form_id}":
        body = _encode(draw(_answers(filled["form_id"], values)), content_type)
    elif action == "codes":
        body = "code\n{}\n".format("\n".join(draw(st.lists(_pick(["NEW-0001", world.code, ""]), max_size=3)))).encode()
    elif route.method in SAFE_METHODS and not _rare(draw, 4):
        body = b""
    else:
        fields = [(name, draw(_pick(values[name]))) for name in ACTION_FIELDS.get(action, [])
                  if not _rare(draw, 8)]
        fields += draw(st.lists(st.tuples(names, text), max_size=2))
        body = _encode(fields, content_type)

    # The headers that decide who is asking and from where, each drawn on every request (absent is one choice).
    cookie = _one(draw, [world.session] * 8 + [f"{world.sign_in}; {world.session}"] * 4 + [
        world.sign_in, world.expired, world.session[:-8] + "0" * 8, world.session.replace(".", "x.", 1),
        world.session[:-1] + "\u00e9", "formloop_session=garbage", f"formloop_session=garbage; {world.session}",
        None, None, TEXT])
    authorization = _one(draw, [f"Bearer {KEY}"] * 3 + ["Bearer wrong", "Basic eA==", "", None, None])
    origin = _one(draw, [None, None, *ALLOWED_ORIGINS, ALLOWED_ORIGINS[0], FOREIGN, "null", ALLOWED_ORIGINS[0] + "/",
                         TEXT])
    chosen = {"Cookie": cookie, "Authorization": authorization, "Origin": origin}
    headers = {name: value for name, value in chosen.items() if value is not None}
    headers.update(draw(st.fixed_dictionaries({}, optional={
        "Accept": st.sampled_from(["application/json", "text/html", "text/csv", "application/problem+json",
                                   "text/html, application/json", "*/*", ""]),
        "Host": st.one_of(st.sampled_from(["127.0.0.1:8000", "forms.example.com", "evil.example", ""]), header_text),
        "Referer": st.one_of(st.sampled_from([f"{ALLOWED_ORIGINS[0]}/contact.html?utm_source=news&utm_medium=email",
                                              f"{FOREIGN}/page", "http://127.0.0.1:8000/admin/inbox", ""]),
                             header_text),
        "Accept-Language": st.one_of(st.sampled_from(["ru", "fr-CA,fr;q=0.9", "*"]), header_text),
        "Idempotency-Key": header_text,
        "X-Requested-With": st.just("XMLHttpRequest"),
    })))
    if content_type is not None:
        headers["Content-Type"] = content_type
    return method, url, headers, body


def _normalised(item: dict[str, Any]) -> str:
    """One DynamoDB item as text, its sets sorted (their order means nothing)."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sorted(v) if k in ("SS", "NS") else walk(v) for k, v in value.items()}
        return [walk(v) for v in value] if isinstance(value, list) else value
    return json.dumps(walk(item), sort_keys=True, default=repr)


def _guard_counter(table: str, item: dict[str, Any]) -> bool:
    """Whether an item counts wrong guesses: gift links that opened nothing, wrong admin keys (kept by design)."""
    return table.endswith("-gift-attempts") or (
        table.endswith("-cases") and str(item.get("key", {}).get("S", "")).startswith("attempts#"))


def _contents(call: Any, client: Any, table: str) -> list[str]:
    """Every item of a table but the guard counters, read consistently."""
    found: list[str] = []
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = call(client, "Scan", params)
        found += [_normalised(item) for item in page.get("Items", []) if not _guard_counter(table, item)]
        if "LastEvaluatedKey" not in page:
            return sorted(found)
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class TableWatch:
    """Each table a request writes, read just before its first write (so only written tables cost a scan)."""

    def __init__(self, every_table: list[str]) -> None:
        self.every_table = every_table
        self.before: dict[str, list[str]] = {}
        self.client: Any = None

    @contextmanager
    def watching(self) -> Iterator[None]:
        from botocore.client import BaseClient
        underlying = BaseClient._make_api_call

        def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            named = tables_written(operation, params)
            for table in self.every_table if named is None else sorted(named):
                if table not in self.before:
                    self.before[table] = _contents(underlying, client, table)
                    self.client = client
            return underlying(client, operation, params)

        BaseClient._make_api_call = call  # type: ignore[method-assign]
        try:
            yield
        finally:
            BaseClient._make_api_call = underlying  # type: ignore[method-assign]

    def changed(self) -> dict[str, dict[str, list[str]]]:
        """The tables whose items differ from before the request: what went and what came."""
        from botocore.client import BaseClient
        found = {}
        for table, before in self.before.items():
            after = _contents(BaseClient._make_api_call, self.client, table)
            if after != before:
                found[table] = {"gone": sorted(set(before) - set(after))[:3],
                                "came": sorted(set(after) - set(before))[:3]}
        return found


def _assert_well_formed(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in response.headers.items():
        name.encode("ascii")
        value.encode("latin-1")
        assert "\r" not in value and "\n" not in value, (name, value)
    if "Location" in response.headers:
        assert re.fullmatch(r"[\x21-\x7e]+", response.headers["Location"]), response.headers["Location"]


def _assert_shared_headers(route: Route, asked: dict[str, str], response: Any, shown: Any) -> None:
    """nosniff, a referrer policy (none at all from a gift page: its link carries a token), a CSP; CORS only on
    the form routes that answer it, only for an origin the form lists, with `Vary: Origin` whatever the Origin."""
    answered = {name.lower(): value for name, value in response.headers.items()}
    assert answered.get("x-content-type-options") == "nosniff", shown
    expected_referrer = "no-referrer" if route.path.startswith("/g/") else "strict-origin-when-cross-origin"
    assert answered.get("referrer-policy") == expected_referrer, shown
    policy = answered.get("content-security-policy", "")
    assert "default-src 'none'" in policy and "frame-ancestors " in policy, shown
    cors = sorted(name for name in answered if name.startswith("access-control-"))
    if route.path not in CORS_ROUTES:
        assert cors == [], shown
        return
    assert "origin" in [part.strip().lower() for part in answered.get("vary", "").split(",")], shown
    if "access-control-allow-origin" in answered:
        origin = asked.get("Origin", "")
        assert answered["access-control-allow-origin"] == origin, shown
        assert origin.rstrip("/").lower() in ALLOWED_ORIGINS, shown


def _destroys(route: Route) -> bool:
    """Whether a route deletes what the world seeded (submissions, their cases, a gift's code)."""
    return route.method == "DELETE" or route.path.endswith(("/delete", "/erase", "/revoke"))


def _examples(route: Route) -> int:
    """How many requests a route gets: the submit route most (it stores what people send), then the actions that
    change something, then the rest."""
    if (route.path, route.method) == ("/f/{form_id}", "POST"):
        return 40
    return 10 if route.method == "POST" and route.path.startswith(("/admin/cases/", "/g/")) else 6


def test_every_route_answers_below_500_and_refusals_store_nothing(client: Any, world: World) -> None:
    # Route by route rather than one route drawn per example: Hypothesis draws unevenly, and every route counts.
    answered: Counter[str] = Counter()
    for route in sorted(ROUTES, key=_destroys):  # what deletes the seeded things comes last
        _fuzz(client, world, route, answered)
    print(sorted(answered.items()))  # what was reached, with -s
    # The accepted paths were reached, not only the refusals: posts stored, and the signed-in owner's actions done.
    assert answered["POST /f/{form_id} 201"] + answered["POST /f/{form_id} 303"] > 0, answered
    assert sum(count for reached, count in answered.items()
               if reached.startswith("POST /admin/cases/") and reached.endswith(" 303")) > 0, answered


def _fuzz(client: Any, world: World, route: Route, answered: Counter[str]) -> None:
    @settings(max_examples=_examples(route), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def one_route(data: st.DataObject) -> None:
        method, url, headers, body = data.draw(requests(world, route), label=f"{route.method} {route.path}")
        watch = TableWatch(world.tables)
        with watch.watching():
            response = client.http.request(method, url, headers=headers, body=body)
        status = response.status_code
        answered[f"{method} {route.path} {status}"] += 1
        shown = (method, url, headers, body[:300], status, dict(response.headers), response.body[:300])
        assert status < 500, shown
        _assert_well_formed(response)
        _assert_shared_headers(route, headers, response, shown)
        if status >= 400 or method in SAFE_METHODS:
            assert watch.changed() == {}, shown

    one_route()


CONTACT_FIELDS = {"name": "Ann", "email": "ann@example.com", "topic": "idea", "message": "Hi", "consent": "on"}
next_values = st.one_of(
    text, st.text(st.characters(codec="utf-8"), max_size=40).map(lambda t: "/" + t),
    st.sampled_from(["/merci-ü-日本", "/a%20b", "//evil.example", "https://shop.example.com/ok ü", "/\r\nX: y",
                     "/\x00", "/%zz", "http://[oops", "/thanks?x=<script>", "/\u2028"]),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(next_url=next_values, extra=st.lists(st.tuples(st.sampled_from(FIELD_NAMES), text), max_size=3),
       origin=st.sampled_from([None, "https://shop.example.com"]), as_json=st.booleans())
def test_no_valid_post_is_stored_without_a_well_formed_answer(  # type: ignore[no-untyped-def]
    client, services, shop_only_contact, next_url: str, extra: list[tuple[str, str]], origin: str | None,
    as_json: bool,
) -> None:
    fields: list[tuple[str, Any]] = [*CONTACT_FIELDS.items(), *extra, ("_next", next_url)]
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Accept": "application/json" if as_json else "text/html", **({"Origin": origin} if origin else {})}
    body = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in fields]).encode()
    before = services.store.count("contact")
    response = client.http.post("/f/contact", headers=headers, body=body)
    assert response.status_code < 500, response.body[:300]
    _assert_well_formed(response)
    if services.store.count("contact") > before:
        assert response.status_code in ANSWERED, (response.status_code, response.body[:300])
