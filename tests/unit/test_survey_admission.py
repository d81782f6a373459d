"""A survey's settings as a respondent meets them: when it opens and closes (and what its page then says), when it is
full, and what storing or deleting one response takes and gives back (places and address markers)."""
from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core.errors import (
    FormClosedError,
    InvalidSubmissionError,
    StorageUnavailableError,
    StoreUnavailableError,
)
from chalicelib.core.submission import Submission
from chalicelib.forms.definitions import FormDefinition, compile_definition
from chalicelib.intake.admission import GiveBackPlace, MarkRespondent, TakePlace, UnmarkRespondent
from chalicelib.intake.surveys import AlreadyAnsweredError, SurveyFullError, SurveyGuard

FULL = "This survey has all the responses it needs and is now closed; thank you for your interest."
ANSWERED = "This email address has already answered this survey; only one response per address is counted."
NOW = datetime(2030, 6, 5, 9, 30, tzinfo=UTC)

SURVEY: dict[str, Any] = {
    "type": "object",
    "properties": {"email": {"type": "string", "format": "email"}, "nps": {"type": "integer"}},
    "x-form": {"kind": "survey", "respondentEmail": "email"},
}


def survey(**settings: Any) -> FormDefinition:
    schema = copy.deepcopy(SURVEY)
    schema["x-form"].update(settings)
    schema["x-form"] = {key: value for key, value in schema["x-form"].items() if value is not None}
    return compile_definition("pulse", schema, "forms/pulse.json")


def response(status: str = "received", email: Any = "Ann@Example.com", reply_to: str | None = None) -> Submission:
    answers = {"nps": 9} if email is None else {"email": email, "nps": 9}
    return Submission(form="pulse", id="01J9SUBMISSION", created_at=NOW, status=status, answers=answers,
                      reply_to=reply_to)


def marker(admissions: list[Any]) -> MarkRespondent:
    """The one admission of a survey taking one response per address."""
    [mark] = admissions
    assert isinstance(mark, MarkRespondent)
    return mark


def address_hash(form: str, address: str) -> str:
    return hashlib.sha256(f"{form}\0{address}".encode()).hexdigest()


class Places:
    """A survey store that says how many of the pulse survey's places are taken (none of another form's), or that
    it cannot answer."""

    def __init__(self, taken: int = 0, *, down: bool = False) -> None:
        self.taken, self.down, self.asked = taken, down, 0

    def responses(self, form: str) -> int:
        self.asked += 1
        if self.down:
            raise StoreUnavailableError("throttled")
        return self.taken if form == "pulse" else 0


# --- open and closed ---------------------------------------------------------------------------------------------

def test_a_survey_not_open_yet_says_when_it_opens() -> None:
    definition = survey(opens="2030-06-05T09:30:00Z")
    with pytest.raises(FormClosedError) as caught:
        SurveyGuard.check_open(definition, NOW - timedelta(seconds=1))
    assert caught.value.message == "This survey is not open yet; it opens on 5 June 2030, 09:30 UTC."
    assert caught.value.STATUS_CODE == 403
    SurveyGuard.check_open(definition, NOW)  # open from that very second


def test_a_closed_survey_says_when_it_closed() -> None:
    definition = survey(closes="2030-12-15T18:05:00+00:00")
    closes = datetime(2030, 12, 15, 18, 5, tzinfo=UTC)
    SurveyGuard.check_open(definition, closes - timedelta(seconds=1))
    with pytest.raises(FormClosedError) as caught:
        SurveyGuard.check_open(definition, closes)  # closed from that very second
    assert caught.value.message == "This survey closed on 15 December 2030, 18:05 UTC; thank you for your interest."


def test_a_survey_without_dates_is_always_open() -> None:
    SurveyGuard.check_open(survey(), datetime(1990, 1, 1, tzinfo=UTC))
    SurveyGuard.check_open(survey(), datetime(2999, 1, 1, tzinfo=UTC))


# --- the page of a full survey --------------------------------------------------------------------------------------

def test_the_page_is_shown_until_the_last_place_is_taken() -> None:
    definition = survey(maxResponses=3)
    SurveyGuard(Places(2)).check_page(definition, NOW)
    with pytest.raises(SurveyFullError) as caught:
        SurveyGuard(Places(3)).check_page(definition, NOW)
    assert caught.value.message == FULL and caught.value.STATUS_CODE == 403


def test_the_page_of_a_survey_without_a_limit_asks_no_store() -> None:
    places = Places(10_000, down=True)
    SurveyGuard(places).check_page(survey(), NOW)
    assert places.asked == 0


def test_the_page_of_a_closed_survey_is_refused_before_counting() -> None:
    places = Places(0)
    with pytest.raises(FormClosedError):
        SurveyGuard(places).check_page(survey(maxResponses=5, closes="2030-01-01T00:00:00Z"), NOW)
    assert places.asked == 0


def test_the_page_says_to_try_again_when_the_places_cannot_be_counted() -> None:
    with pytest.raises(StorageUnavailableError) as caught:
        SurveyGuard(Places(down=True)).check_page(survey(maxResponses=5), NOW)
    assert caught.value.message == "This survey cannot be shown just now; please try again in a few seconds."
    assert caught.value.STATUS_CODE == 503


# --- what storing a response takes ----------------------------------------------------------------------------------

def test_one_response_per_address_marks_the_normalised_address_for_the_retention() -> None:
    guard = SurveyGuard(Places(), default_retention_days=30)
    [mark] = guard.admissions(survey(onePerEmail=True), response(email=" ann+news@example.COM "))
    assert isinstance(mark, MarkRespondent)
    assert (mark.form, mark.submission_id, mark.created_at) == ("pulse", "01J9SUBMISSION", NOW)
    assert mark.address_hash == address_hash("pulse", "ann@example.com")
    assert mark.expires_at == NOW + timedelta(days=30)  # the deployment's default retention
    assert isinstance(mark.refusal, AlreadyAnsweredError) and mark.refusal.message == ANSWERED
    assert mark.refusal.STATUS_CODE == 409


def test_the_marker_lasts_as_long_as_the_form_keeps_its_responses() -> None:
    mark = marker(SurveyGuard(Places()).admissions(survey(onePerEmail=True, retentionDays=90), response()))
    assert mark.expires_at == NOW + timedelta(days=90)


def test_the_default_retention_is_a_year() -> None:
    mark = marker(SurveyGuard(Places()).admissions(survey(onePerEmail=True), response()))
    assert mark.expires_at == NOW + timedelta(days=365)


def test_a_limited_survey_takes_one_place_per_response() -> None:
    [place] = SurveyGuard(Places()).admissions(survey(maxResponses=50), response())
    assert place == TakePlace("pulse", 50, place.refusal)
    assert isinstance(place.refusal, SurveyFullError) and place.refusal.message == FULL


def test_both_settings_mark_the_address_before_taking_the_place() -> None:
    mark, place = SurveyGuard(Places()).admissions(survey(onePerEmail=True, maxResponses=2), response())
    assert isinstance(mark, MarkRespondent) and isinstance(place, TakePlace) and place.limit == 2


def test_spam_and_plain_forms_take_nothing() -> None:
    guard = SurveyGuard(Places())
    assert guard.admissions(survey(onePerEmail=True, maxResponses=2), response(status="spam")) == []
    assert guard.admissions(survey(onePerEmail=True, maxResponses=2), response(status="held")) == []
    assert guard.admissions(survey(), response()) == []
    assert guard.admissions(survey(onePerEmail=False), response()) == []


def test_one_response_per_address_needs_the_address() -> None:
    for missing in (None, "", "   ", 42):
        with pytest.raises(InvalidSubmissionError) as caught:
            SurveyGuard(Places()).admissions(survey(onePerEmail=True), response(email=missing))
        [error] = caught.value.errors
        assert error.field == "email"
        assert error.message == "is required: this survey takes one response per email address."
        assert caught.value.form_id == "pulse"


def test_without_an_address_question_the_reply_to_is_the_address() -> None:
    schema = copy.deepcopy(SURVEY)
    schema["x-form"] = {"kind": "survey"}
    definition = compile_definition("pulse", schema, "forms/pulse.json")
    definition.settings["onePerEmail"] = True  # as a definition checked before onePerEmail needed respondentEmail
    mark = marker(SurveyGuard(Places()).admissions(definition, response(email="other@example.com",
                                                                        reply_to="Bob@Example.com")))
    assert mark.address_hash == address_hash("pulse", "bob@example.com")
    with pytest.raises(InvalidSubmissionError) as caught:
        SurveyGuard(Places()).admissions(definition, response(reply_to=None))
    assert caught.value.errors[0].field == "email"


# --- what deleting a response gives back ----------------------------------------------------------------------------

def test_deleting_a_response_gives_back_its_marker_and_its_place() -> None:
    releases = SurveyGuard(Places()).releases(survey(onePerEmail=True, maxResponses=2), response())
    assert releases == [UnmarkRespondent("pulse", address_hash("pulse", "ann@example.com"), "01J9SUBMISSION"),
                        GiveBackPlace("pulse")]


def test_a_response_stored_without_an_address_gives_back_only_its_place() -> None:
    releases = SurveyGuard(Places()).releases(survey(onePerEmail=True, maxResponses=2), response(email=None))
    assert releases == [GiveBackPlace("pulse")]


def test_deleting_spam_or_a_plain_response_gives_nothing_back() -> None:
    guard = SurveyGuard(Places())
    assert guard.releases(survey(onePerEmail=True, maxResponses=2), response(status="spam")) == []
    assert guard.releases(survey(), response()) == []
    assert guard.releases(survey(onePerEmail=True), response()) == [
        UnmarkRespondent("pulse", address_hash("pulse", "ann@example.com"), "01J9SUBMISSION")]
    assert guard.releases(survey(maxResponses=1), response()) == [GiveBackPlace("pulse")]
