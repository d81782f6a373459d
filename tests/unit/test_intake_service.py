"""The submit service as a site and its visitors meet it, on the in-memory stores: which sites may post, where a
browser lands after posting, what a script is told, what is stored with the answers (and cut to size), how an
idempotency key is matched, and what each way the store can fail tells the visitor."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.core.config import Settings
from chalicelib.core.errors import (
    AdmissionRefusedError,
    ConditionFailedError,
    FormloopError,
    IdempotencyMismatchError,
    InvalidSubmissionError,
    KeyReusedError,
    OriginNotAllowedError,
    RateLimitedError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.submission import StoreResult
from chalicelib.forms.definitions import FormRegistry, compile_definition
from chalicelib.intake.admission import TakePlace
from chalicelib.intake.service import SubmissionService, SubmitOutcome, SubmitRequest, origin_of
from chalicelib.wiring import MemoryStores, Services, build_memory_services
from tests.unit.services.support import ROOT, Clock

SITE = "http://127.0.0.1:8002"  # on the shipped contact form's allowedOrigins
CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "Dark mode", "consent": True}
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


@pytest.fixture
def services() -> Services:
    settings = Settings.from_environ({"FORMLOOP_FORMS_DIR": str(ROOT / "forms")})
    return build_memory_services(settings, MemoryStores(), clock=Clock())


def post(services: Services, answers: dict[str, Any], headers: dict[str, str] | None = None, *,
         form: str = "contact", ip: str | None = "203.0.113.7", as_json: bool = True) -> SubmitOutcome:
    body = json.dumps(answers).encode() if as_json else urlencode(answers).encode()
    sent = {**(JSON if as_json else FORM), **(headers or {})}
    return services.submissions.submit(SubmitRequest(form, body, sent, ip))


def stored(services: Services, outcome: SubmitOutcome) -> Any:
    submission = services.store.get(outcome.form.id, outcome.submission_id)
    assert submission is not None
    return submission


def site_form(**settings: Any) -> Any:
    schema = {"type": "object", "properties": {"name": {"type": "string"}},
              "x-form": {"kind": "contact", **settings}}
    return compile_definition("site", schema, "forms/site.json")


# --- what a script is told ----------------------------------------------------------------------------------------

def test_a_script_is_told_the_id_and_form_and_spam_looks_received(services: Services) -> None:
    outcome = post(services, CONTACT)
    assert outcome.as_json() == {"id": outcome.submission_id, "form": "contact", "status": "received"}
    bot = post(services, {**CONTACT, "_gotcha": "http://spam.example"})
    assert bot.status == "spam" and bot.as_json() == {"id": bot.submission_id, "form": "contact",
                                                      "status": "received"}
    held = SubmitOutcome(form=outcome.form, submission_id="01J", status="held", created=True, redirect_to="x",
                         language="en", json_body=True)
    assert held.as_json() == {"id": "01J", "form": "contact", "status": "held"}


# --- which sites may post -----------------------------------------------------------------------------------------

def test_an_origin_is_the_lower_cased_scheme_host_and_port_of_a_web_address() -> None:
    assert origin_of("HTTPS://Shop.Example:8443/a/b?c#d") == "https://shop.example:8443"
    assert origin_of("http://shop.example") == "http://shop.example"
    for not_web in ("ftp://shop.example/", "shop.example/a", "/thanks.html", "http://", "https:///x", "http://[oops"):
        assert origin_of(not_web) is None


def test_a_post_from_a_site_the_form_does_not_list_is_refused_by_name(services: Services) -> None:
    with pytest.raises(OriginNotAllowedError) as caught:
        post(services, CONTACT, {"origin": "https://evil.example"})
    assert caught.value.message == ("This form does not accept posts from https://evil.example; its owner can add "
                                    "the site to allowedOrigins.")
    assert caught.value.STATUS_CODE == 403
    assert services.store.count("contact") == 0


def test_posts_from_a_listed_site_the_form_s_own_page_or_no_browser_are_taken(services: Services) -> None:
    post(services, CONTACT, {"origin": "HTTP://127.0.0.1:8002/"})  # case and a trailing slash aside
    post(services, CONTACT, {"origin": "http://localhost:8002"})
    post(services, CONTACT, {"origin": "https://Forms.Example", "host": "forms.example"})  # Formloop's own page
    post(services, CONTACT)  # a server posting has no Origin
    assert services.store.count("contact") == 4
    with pytest.raises(OriginNotAllowedError):
        post(services, CONTACT, {"origin": "https://forms.example", "host": "other.example"})


def test_an_opaque_origin_may_post_only_to_a_form_that_lists_no_sites(services: Services) -> None:
    with pytest.raises(OriginNotAllowedError):
        post(services, CONTACT, {"origin": "null"})
    assert services.submissions.origin_allowed(site_form(), "null", None)
    assert services.submissions.origin_allowed(site_form(), "https://anywhere.example", "forms.example")
    assert not services.submissions.origin_allowed(site_form(allowedOrigins=["https://shop.example"]), "null", None)
    assert services.submissions.origin_allowed(site_form(allowedOrigins=["https://Shop.Example"]),
                                               "https://shop.example/", None)


# --- where a browser lands ----------------------------------------------------------------------------------------

def test_a_path_next_lands_on_the_posting_site_when_it_is_listed(services: Services) -> None:
    contact = services.forms.require("contact")
    redirect = services.submissions.redirect_for
    assert redirect(contact, "/thanks.html", SITE + "/", None) == SITE + "/thanks.html"
    assert redirect(contact, "/thanks.html", "HTTP://127.0.0.1:8002", None) == "HTTP://127.0.0.1:8002/thanks.html"
    assert redirect(contact, "/thanks.html", "https://evil.example", None) == "/thanks.html"  # Formloop's own path
    assert redirect(contact, "/thanks.html", None, None) == "/thanks.html"
    assert redirect(contact, "/a\\b", SITE, None) == "contact/thanks"
    assert redirect(contact, "//evil.example/", SITE, None) == "contact/thanks"
    assert redirect(contact, "///evil.example/", SITE, None) == "contact/thanks"  # a browser reads a host here too


def test_an_absolute_next_is_followed_only_to_a_listed_site(services: Services) -> None:
    contact = services.forms.require("contact")
    redirect = services.submissions.redirect_for
    assert redirect(contact, "HTTP://LOCALHOST:8002/done", None, None) == "HTTP://LOCALHOST:8002/done"
    assert redirect(contact, "https://evil.example/done", SITE, None) == "contact/thanks"


def test_a_relative_next_resolves_on_the_site_root_without_a_referer(services: Services) -> None:
    contact = services.forms.require("contact")
    redirect = services.submissions.redirect_for
    assert redirect(contact, "thanks.html", SITE + "/", None) == SITE + "/thanks.html"
    assert redirect(contact, "thanks.html", SITE, f"{SITE}/en/contact.html") == f"{SITE}/en/thanks.html"
    assert redirect(contact, "thanks.html", "https://evil.example", None) == "contact/thanks"


def test_the_form_s_redirect_comes_before_its_thanks_page() -> None:
    service = SubmissionService(Settings.from_environ({}), FormRegistry(Path("/nonexistent")), store=None)  # type: ignore[arg-type]
    redirected = site_form(redirect="https://shop.example/merci", allowedOrigins=["https://shop.example"])
    assert service.redirect_for(redirected, None, None, "https://shop.example/contact") == "https://shop.example/merci"
    assert service.redirect_for(redirected, "https://evil.example/", None, None) == "https://shop.example/merci"
    plain = site_form(allowedOrigins=["https://shop.example"])
    assert service.redirect_for(plain, None, None, "https://shop.example/contact") == (
        "site/thanks?back=https%3A%2F%2Fshop.example%2Fcontact")
    assert service.redirect_for(plain, "", None, None) == "site/thanks"


def test_a_back_link_is_a_page_of_a_listed_site_of_at_most_2000_characters() -> None:
    form = site_form(allowedOrigins=["https://Shop.Example"])
    page = "https://shop.example/" + "p" * (2000 - len("https://shop.example/"))
    assert SubmissionService.back_link(form, page) == page
    assert SubmissionService.back_link(form, page + "p") is None
    for hostile in ("https://shop.example/a\x1fb", "https://shop.example/a\x7fb", "https://shop.example/a\\b"):
        assert SubmissionService.back_link(form, hostile) is None
    assert SubmissionService.back_link(form, "https://shop.example/a b") == "https://shop.example/a b"


def test_the_thanks_page_comes_back_in_the_language_of_the_post(services: Services) -> None:
    outcome = post(services, {**CONTACT, "_language": "fr"}, {"accept-language": "en"})
    assert (outcome.language, outcome.redirect_to) == ("fr", "contact/thanks?lang=fr")
    same = post(services, {**CONTACT, "_language": "fr"}, {"accept-language": "fr"})
    assert same.redirect_to == "contact/thanks"


def test_a_form_shown_again_keeps_next_as_an_absolute_address_when_it_can(services: Services) -> None:
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "email": "not an address", "_next": "/thanks.html"}, {"origin": SITE})
    assert caught.value.values is not None and caught.value.values["_next"] == SITE + "/thanks.html"
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "email": "not an address", "_next": "/thanks.html"})
    assert caught.value.values is not None and caught.value.values["_next"] == "/thanks.html"
    assert caught.value.values["email"] == "not an address"
    assert (caught.value.form_id, caught.value.language) == ("contact", "en")


# --- what is stored ---------------------------------------------------------------------------------------------------

def test_a_reply_to_must_be_one_plain_address(services: Services) -> None:
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "_replyto": "=?utf-8?q?Ann?= <ann@example.com>"})
    [error] = caught.value.errors
    assert (error.field, error.message) == ("_replyto", "must be a plain email address, like name@example.com (no "
                                                        "encoded words such as =?utf-8?q?...?=).")
    assert error.template == "must be a plain email address, like name@example.com (no encoded words)."
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "_replyto": "ann at example"})
    [error] = caught.value.errors
    assert (error.field, error.message, error.template) == ("_replyto", "must be an email address, like "
                                                            "name@example.com.", "must be an email address, like "
                                                            "name@example.com.")
    outcome = post(services, {**CONTACT, "_replyto": "bob@example.com"})
    assert stored(services, outcome).reply_to == "bob@example.com"


def test_what_is_stored_beside_the_answers_is_cut_to_size(services: Services) -> None:
    origin = "http://localhost:8002"
    outcome = post(services, CONTACT, {"origin": origin, "user-agent": "U" * 600, "host": "forms.example"})
    submission = stored(services, outcome)
    assert submission.origin == origin and submission.user_agent == "U" * 500
    assert submission.ip_hash is not None and "203.0.113.7" not in submission.ip_hash
    assert submission.retention_days == 365 and submission.language == "en" and submission.feedback_kind == "idea"
    bare = stored(services, post(services, CONTACT, {"user-agent": ""}, ip=None))
    assert (bare.origin, bare.user_agent, bare.ip_hash) == (None, None, None)
    own_page = "https://" + "f" * 400 + ".example"
    long_origin = stored(services, post(services, CONTACT, {"origin": own_page, "host": "f" * 400 + ".example"}))
    assert long_origin.origin == own_page[:300]


def test_spam_is_kept_for_less_long_without_a_kind_or_an_address(services: Services) -> None:
    bot = stored(services, post(services, {**CONTACT, "_gotcha": "x", "_replyto": "bot@example.com"}))
    assert (bot.status, bot.retention_days, bot.feedback_kind) == ("spam", 30, None)
    assert bot.respondent_email == "ann@example.com"  # the answer itself is kept, as posted


def test_without_an_address_question_the_reply_to_is_the_respondent(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "forms" / "contact.json").read_text("utf-8"))
    schema.pop("$id", None)
    schema["x-form"].pop("respondentEmail", None)
    schema["x-form"]["retentionDays"] = 90
    (tmp_path / "noemail.json").write_text(json.dumps(schema), encoding="utf-8")
    services = build_memory_services(Settings.from_environ({"FORMLOOP_FORMS_DIR": str(tmp_path)}), clock=Clock())
    person = stored(services, post(services, {**CONTACT, "_replyto": "bob@example.com"}, form="noemail"))
    assert (person.respondent_email, person.retention_days) == ("bob@example.com", 90)
    bot = stored(services, post(services, {**CONTACT, "_replyto": "bob@example.com", "_gotcha": "x"},
                                form="noemail"))
    assert (bot.respondent_email, bot.reply_to) == (None, "bob@example.com")


# --- idempotency keys ---------------------------------------------------------------------------------------------

def test_a_key_from_the_header_or_the_field_is_trimmed_and_belongs_to_one_form(services: Services) -> None:
    first = post(services, CONTACT, {"idempotency-key": " k-1 "})
    assert post(services, CONTACT, {"idempotency-key": "k-1"}).submission_id == first.submission_id
    with pytest.raises(IdempotencyMismatchError):  # the header's key, with another body
        post(services, {**CONTACT, "_idempotency": "k-2"}, {"idempotency-key": "k-1"})
    from_field = post(services, {**CONTACT, "_idempotency": "k-2"})
    assert from_field.created and from_field.submission_id != first.submission_id
    again = post(services, {**CONTACT, "_idempotency": "k-2"})
    assert (again.created, again.submission_id) == (False, from_field.submission_id)
    survey = {"email": "ann@example.com", "product": "app", "satisfaction": 4, "nps": 9,
              "agreement": {"easy": 5, "fast": 2, "value": 3}, "improve": "speed", "consent": True}
    other_form = post(services, survey, {"idempotency-key": "k-1"}, form="product-feedback")
    assert other_form.created  # the same key on another form is another key
    blank = post(services, CONTACT, {"idempotency-key": "  "})
    assert blank.created and post(services, CONTACT, {"idempotency-key": "  "}).created


def test_the_same_bytes_as_another_content_type_are_another_body(services: Services) -> None:
    body = json.dumps(CONTACT).encode()
    services.submissions.submit(SubmitRequest("contact", body, {**JSON, "idempotency-key": "k"}, None))
    with pytest.raises(IdempotencyMismatchError) as caught:
        services.submissions.submit(SubmitRequest(
            "contact", body, {"content-type": "application/json; charset=utf-8", "idempotency-key": "k"}, None))
    assert caught.value.message == ("This idempotency key was already used for a different submission; use a new "
                                    "key for new answers.")


# --- the store failing --------------------------------------------------------------------------------------------

class Failing:
    """A submission store whose every write fails with the error it is given."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def put(self, *args: Any, **kwargs: Any) -> StoreResult:
        raise self.error


def failing_service(error: Exception) -> SubmissionService:
    settings = Settings.from_environ({"FORMLOOP_FORMS_DIR": str(ROOT / "forms")})
    return SubmissionService(settings, FormRegistry(ROOT / "forms"), Failing(error), clock=Clock())  # type: ignore[arg-type]


@pytest.mark.parametrize("error, expected, retry_after", [
    (StoreUnavailableError("throttled"), "Your submission could not be saved just now and nothing was stored; "
                                         "please send it again in a few seconds.", "5"),
    (StoreUnavailableError("timeout", maybe_written=True), "Your submission may not have been saved; please send it "
                                                            "again in a few seconds.", "5"),
    (ConditionFailedError("expired"), "Please send your submission again.", "1"),
])
def test_a_write_the_store_cannot_make_is_a_503_that_says_what_to_do(error: Exception, expected: str,
                                                                     retry_after: str) -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        failing_service(error).submit(SubmitRequest("contact", json.dumps(CONTACT).encode(), JSON, None))
    assert caught.value.message == expected and caught.value.headers == {"Retry-After": retry_after}
    assert caught.value.__cause__ is error


def test_a_refused_admission_is_the_refusal_it_carries() -> None:
    refusal = RateLimitedError("Too many posts from your network; please try again later.", retry_after=60)
    with pytest.raises(RateLimitedError) as caught:
        failing_service(AdmissionRefusedError(TakePlace("contact", 1, refusal))).submit(
            SubmitRequest("contact", json.dumps(CONTACT).encode(), JSON, None))
    assert caught.value is refusal


def test_a_reused_key_is_a_422_that_asks_for_a_new_key() -> None:
    with pytest.raises(IdempotencyMismatchError) as caught:
        failing_service(KeyReusedError("other body")).submit(
            SubmitRequest("contact", json.dumps(CONTACT).encode(), {**JSON, "idempotency-key": "k"}, None))
    assert caught.value.STATUS_CODE == 422 and "use a new key" in caught.value.message


def test_nothing_is_asked_of_the_store_for_a_post_with_errors() -> None:
    with pytest.raises(InvalidSubmissionError):
        failing_service(StoreUnavailableError("never reached")).submit(
            SubmitRequest("contact", json.dumps({**CONTACT, "email": "nope"}).encode(), JSON, None))


def test_a_closed_survey_refuses_a_post_before_reading_it(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "forms" / "product-feedback.json").read_text("utf-8"))
    closed = copy.deepcopy(schema)
    closed.pop("$id", None)
    closed["x-form"]["closes"] = "2020-01-01T00:00:00Z"
    (tmp_path / "closed.json").write_text(json.dumps(closed), encoding="utf-8")
    services = build_memory_services(Settings.from_environ({"FORMLOOP_FORMS_DIR": str(tmp_path)}), clock=Clock())
    with pytest.raises(FormloopError) as caught:
        services.submissions.submit(SubmitRequest("closed", b"{not json", JSON, None))
    assert caught.value.STATUS_CODE == 403 and "closed on 1 January 2020" in caught.value.message


def test_only_the_form_s_own_thanks_page_carries_the_language(services: Services) -> None:
    from chalicelib.intake.service import carry_language

    contact = services.forms.require("contact")
    assert carry_language("contact/thanks?back=x&lang=ru", contact, "fr", "en") == "contact/thanks?back=x&lang=fr"
    for written in ("https:contact/thanks", "http://[oops/contact/thanks", "/contact/thanks", "other/thanks"):
        assert carry_language(written, contact, "fr", "en") == written
    assert carry_language("contact/thanks", contact, "fr", "fr-CA,fr;q=0.9") == "contact/thanks"


# --- a site written in capitals, and a host ending in X -------------------------------------------------------------

BOX = "https://SHOP.EXAMPLE.BOX"  # a listed site as its owner typed it


def test_a_listed_site_in_capitals_matches_its_origin_in_any_case(services: Services) -> None:
    form = site_form(allowedOrigins=[BOX])
    allowed = services.submissions.origin_allowed
    assert allowed(form, "https://shop.example.box", None) and allowed(form, "https://Shop.Example.BOX/", None)
    assert not allowed(form, "https://shop.example.bo", None) and not allowed(form, "https://shop.example.boxx", None)


def test_a_next_on_a_listed_site_in_capitals_is_followed(services: Services) -> None:
    form = site_form(allowedOrigins=[BOX])
    redirect = services.submissions.redirect_for
    assert redirect(form, "/thanks.html", "https://shop.example.BOX", None) == "https://shop.example.BOX/thanks.html"
    assert redirect(form, "thanks.html", "https://shop.example.BOX", None) == "https://shop.example.BOX/thanks.html"
    assert redirect(form, "https://Shop.Example.Box/done", None, None) == "https://Shop.Example.Box/done"
    assert SubmissionService.back_link(form, "https://shop.example.box/X-ray") == "https://shop.example.box/X-ray"
    assert redirect(form, None, None, "https://shop.example.box/X") == (
        "site/thanks?back=https%3A%2F%2Fshop.example.box%2FX")


# --- the language and the time trap -------------------------------------------------------------------------------

def test_the_browser_s_language_is_the_post_s_without_a_language_field(services: Services) -> None:
    outcome = post(services, CONTACT, {"accept-language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert outcome.language == "fr" and stored(services, outcome).language == "fr"
    assert outcome.redirect_to == "contact/thanks"  # the browser asks in French again on its own


def test_a_post_sooner_than_the_form_s_seconds_after_its_page_is_spam() -> None:
    clock = Clock()
    services = build_memory_services(Settings.from_environ({"FORMLOOP_FORMS_DIR": str(ROOT / "forms")}),
                                     clock=clock)
    served = services.submissions.page_token()  # the contact form asks for 3 seconds
    clock.advance(seconds=2)
    hasty = post(services, {**CONTACT, "_ts": served})
    assert hasty.status == "spam" and hasty.as_json()["status"] == "received"
    clock.advance(seconds=1)
    person = post(services, {**CONTACT, "_ts": served})
    assert person.status == "received" and stored(services, person).status == "received"
    forged = post(services, {**CONTACT, "_ts": served.split(".")[0] + ".forged"})
    assert forged.status == "spam"


def test_the_language_replaces_only_lang_and_keeps_empty_parameters(services: Services) -> None:
    from chalicelib.intake.service import carry_language

    contact = services.forms.require("contact")
    assert carry_language("contact/thanks?x=&LANG=y&lang=ru", contact, "fr", "en") == (
        "contact/thanks?x=&LANG=y&lang=fr")


# --- the form shown again, and where a stored post goes ---------------------------------------------------------------

def test_a_form_shown_again_keeps_every_answer_as_posted(services: Services) -> None:
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "email": "not an address"})
    assert caught.value.values == {**CONTACT, "email": "not an address"}


def test_a_form_shown_again_resolves_a_relative_next_on_the_posting_page(services: Services) -> None:
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "email": "nope", "_next": "thanks.html"},
             {"origin": SITE, "referer": f"{SITE}/en/contact.html"})
    assert caught.value.values is not None and caught.value.values["_next"] == f"{SITE}/en/thanks.html"
    with pytest.raises(InvalidSubmissionError) as caught:  # a next off the listed sites is kept as the site wrote it
        post(services, {**CONTACT, "email": "nope", "_next": "https://evil.example/x"}, {"origin": SITE})
    assert caught.value.values is not None and caught.value.values["_next"] == "https://evil.example/x"


def test_a_stored_post_goes_back_to_its_site_or_links_back_to_its_page(services: Services) -> None:
    onward = post(services, {**CONTACT, "_next": "/thanks.html"}, {"origin": SITE})
    assert onward.redirect_to == f"{SITE}/thanks.html"
    back = post(services, CONTACT, {"origin": SITE, "referer": f"{SITE}/contact.html"})
    assert back.redirect_to == "contact/thanks?back=http%3A%2F%2F127.0.0.1%3A8002%2Fcontact.html"


def test_the_outcome_says_whether_the_answers_came_as_json(services: Services) -> None:
    assert post(services, CONTACT).json_body is True
    assert post(services, {**CONTACT, "consent": "on"}, as_json=False).json_body is False


def test_a_form_shown_again_on_a_site_listed_in_capitals_keeps_next_absolute(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "forms" / "contact.json").read_text("utf-8"))
    schema.pop("$id", None)
    schema["x-form"]["allowedOrigins"] = [BOX]
    (tmp_path / "boxed.json").write_text(json.dumps(schema), encoding="utf-8")
    services = build_memory_services(Settings.from_environ({"FORMLOOP_FORMS_DIR": str(tmp_path)}), clock=Clock())
    with pytest.raises(InvalidSubmissionError) as caught:
        post(services, {**CONTACT, "email": "nope", "_next": "/thanks.html"}, {"origin": "https://shop.example.box"},
             form="boxed")
    assert caught.value.values is not None and caught.value.values["_next"] == "https://shop.example.box/thanks.html"
