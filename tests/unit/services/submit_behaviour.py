"""The submit service's behaviour, written once against a `store` fixture: the in-memory store runs it in the unit
tier (tests/unit/services), DynamoDB Local in the integration tier (tests/integration/test_submit_behaviour.py)."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import pytest

from chalicelib.core.errors import (
    FormloopError,
    IdempotencyMismatchError,
    NotFoundError,
    RateLimitedError,
    StorageUnavailableError,
)
from chalicelib.intake.service import SubmitOutcome, SubmitRequest
from chalicelib.intake.surveys import AlreadyAnsweredError, SurveyFullError
from chalicelib.wiring import Services

FORMS = Path(__file__).resolve().parents[3] / "forms"
CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "More colours, please",
           "consent": True}
SURVEY = {"email": "ann@example.com", "product": "app", "satisfaction": 4, "nps": 9,
          "agreement": {"easy": 5, "fast": 2, "value": 3}, "consent": True}
JSON = {"content-type": "application/json"}


class Clock:
    """A clock the test moves by hand; starts a minute before the end of an hour, years from now (so DynamoDB
    Local's TTL sweep never removes what a test wrote)."""

    def __init__(self) -> None:
        self.now = datetime(2031, 3, 14, 10, 59, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


class StoreUnderTest(Protocol):
    """What the behaviour needs of a store: services built on it, and a way to make its writes fail."""

    def build(self, forms_dir: Path, clock: Clock) -> Services:
        """The services over this store, with the forms of `forms_dir` and the clock."""
        ...

    def fail_writes(self, services: Services, *, maybe_written: bool) -> None:
        """Make every write fail until `heal`: refused (nothing written), or applied with its answer lost."""
        ...

    def heal(self, services: Services) -> None:
        """Writes succeed again."""
        ...


class SubmitBehaviour:
    """The submit path over any store: a subclass gives the `store` fixture."""

    @pytest.fixture
    def store(self) -> StoreUnderTest:
        raise NotImplementedError("a subclass gives the store under test")

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def services_with(self, store: StoreUnderTest, clock: Clock, tmp_path: Path) -> Callable[..., Services]:
        """Services over the store, with product-feedback's x-form settings changed as given."""

        def build(**survey_settings: Any) -> Services:
            shutil.copytree(FORMS, tmp_path, dirs_exist_ok=True)
            path = tmp_path / "product-feedback.json"
            definition = json.loads(path.read_text())
            definition["x-form"].update(survey_settings)
            path.write_text(json.dumps(definition))
            return store.build(tmp_path, clock)

        return build

    @staticmethod
    def post(services: Services, form: str, answers: dict[str, Any], *, ip: str | None = "203.0.113.7",
             key: str | None = None) -> SubmitOutcome:
        headers = {**JSON, **({"idempotency-key": key} if key else {})}
        return services.submissions.submit(SubmitRequest(form, json.dumps(answers).encode(), headers, ip))

    # --- storing ---------------------------------------------------------------------------------------------------

    def test_a_browser_post_is_stored_with_typed_answers(self, services_with, clock) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        body = urlencode({**CONTACT, "consent": "on"}).encode()
        outcome = services.submissions.submit(SubmitRequest(
            "contact", body, {"content-type": "application/x-www-form-urlencoded"}, "203.0.113.7"))
        assert (outcome.created, outcome.status) == (True, "received")
        stored = services.store.get("contact", outcome.submission_id)
        assert stored is not None
        assert stored.answers == {**CONTACT, "consent": True}
        assert (stored.status, stored.feedback_kind, stored.created_at) == ("received", "idea", clock.now)
        assert stored.respondent_email == "ann@example.com"

    def test_survey_answers_keep_their_types(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        outcome = self.post(services, "product-feedback", SURVEY)
        stored = services.store.get("product-feedback", outcome.submission_id)
        assert stored is not None and stored.answers["nps"] == 9 and stored.answers["agreement"]["fast"] == 2
        assert [s.id for s in services.store.list("product-feedback")] == [outcome.submission_id]

    def test_spam_is_kept_as_spam_and_takes_no_place(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with(maxResponses=1, onePerEmail=True)
        bot = self.post(services, "product-feedback", {**SURVEY, "_gotcha": "http://spam.example"})
        assert bot.created and bot.as_json()["status"] == "received"  # the bot sees success
        stored = services.store.get("product-feedback", bot.submission_id)
        assert stored is not None and stored.status == "spam"
        assert services.surveys.store.responses("product-feedback") == 0
        self.post(services, "product-feedback", SURVEY)  # neither the place nor the address was taken
        assert services.store.count("product-feedback") == 2

    def test_spam_cleared_changes_the_status_once_and_only_from_spam(self, services_with, clock) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        bot = self.post(services, "contact", {**CONTACT, "_gotcha": "x"})
        person = self.post(services, "contact", CONTACT)
        store = services.store
        assert store.get("contact", bot.submission_id).feedback_kind is None  # spam is stored without a kind
        keep = clock.now + timedelta(days=365)
        assert store.set_status("contact", bot.submission_id, "received", expected="spam", feedback_kind="idea",
                                expires_at=keep)
        cleared = store.get("contact", bot.submission_id)
        assert (cleared.status, cleared.feedback_kind, cleared.answers["topic"]) == ("received", "idea", "idea")
        assert store.set_status("contact", bot.submission_id, "received", expected="spam") is False  # done already
        assert store.set_status("contact", person.submission_id, "received", expected="spam") is False
        assert store.get("contact", person.submission_id).status == "received"
        assert store.set_status("contact", "01J0000000000000000000000A", "received", expected="spam") is False
        assert store.get("contact", "01J0000000000000000000000A") is None  # nothing written for a missing id

    # --- idempotency -----------------------------------------------------------------------------------------------

    def test_a_replay_with_the_same_body_answers_the_first_submission(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with(maxResponses=5)
        first = self.post(services, "product-feedback", SURVEY, key="double-click")
        again = self.post(services, "product-feedback", SURVEY, key="double-click")
        assert (first.created, again.created) == (True, False)
        assert again.submission_id == first.submission_id
        assert services.store.count("product-feedback") == 1
        assert services.surveys.store.responses("product-feedback") == 1  # the replay took no second place

    def test_a_key_reused_for_another_body_is_refused(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        self.post(services, "contact", CONTACT, key="k-1")
        with pytest.raises(IdempotencyMismatchError) as caught:
            self.post(services, "contact", {**CONTACT, "message": "Something else"}, key="k-1")
        assert caught.value.STATUS_CODE == 422 and "different submission" in caught.value.message
        assert services.store.count("contact") == 1

    # --- rate limit --------------------------------------------------------------------------------------------------

    def test_per_ip_per_hour_admits_the_limit_and_refuses_one_more(self, services_with, clock) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        definition = services.forms.get("contact")
        limit = definition.settings["spam"]["perIpPerHour"]
        clock.now = clock.now.replace(second=30)
        for _ in range(limit):
            self.post(services, "contact", CONTACT, ip="198.51.100.1")
        with pytest.raises(RateLimitedError) as caught:
            self.post(services, "contact", CONTACT, ip="198.51.100.1")
        assert caught.value.retry_after == 30  # until the hour ends
        assert caught.value.headers == {"Retry-After": "30"} and caught.value.STATUS_CODE == 429
        assert services.store.count("contact") == limit
        self.post(services, "contact", CONTACT, ip="198.51.100.2")  # another client is not affected
        clock.advance(minutes=1)
        self.post(services, "contact", CONTACT, ip="198.51.100.1")  # a new hour starts afresh
        assert services.store.count("contact") == limit + 2

    def test_a_refused_post_is_not_counted(self, services_with, clock) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        definition = services.forms.get("contact")
        limit = definition.settings["spam"]["perIpPerHour"]
        for _ in range(limit + 3):
            try:
                self.post(services, "contact", CONTACT, ip="198.51.100.1")
            except RateLimitedError:
                pass
        ip_hash = services.submissions._ip_hash("198.51.100.1")
        assert ip_hash is not None
        assert services.submissions.limiter is not None
        assert services.submissions.limiter.used(definition, ip_hash, clock.now) == limit

    def test_a_retry_past_the_limit_still_gets_its_first_result(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        limit = services.forms.get("contact").settings["spam"]["perIpPerHour"]
        first = self.post(services, "contact", CONTACT, key="k-1")
        for _ in range(limit - 1):
            self.post(services, "contact", CONTACT)
        with pytest.raises(RateLimitedError):
            self.post(services, "contact", CONTACT)
        again = self.post(services, "contact", CONTACT, key="k-1")
        assert (again.created, again.submission_id) == (False, first.submission_id)
        assert services.store.count("contact") == limit

    # --- survey admission ------------------------------------------------------------------------------------------

    def test_respondents_racing_never_exceed_max_responses(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with(maxResponses=3, onePerEmail=True)

        def attempt(n: int) -> str:
            try:
                self.post(services, "product-feedback", {**SURVEY, "email": f"racer{n % 6}@example.com"},
                          ip=f"198.51.100.{n}")
            except FormloopError as error:
                return type(error).__name__
            return "stored"

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = sorted(pool.map(attempt, range(12)))
        # Six addresses, each posting twice, for three places: three stored, the rest refused by a condition.
        assert outcomes.count("stored") == 3
        assert set(outcomes) <= {"stored", "SurveyFullError", "AlreadyAnsweredError"}
        stored = list(services.store.list("product-feedback"))
        assert len(stored) == 3 and len({s.answers["email"] for s in stored}) == 3
        assert services.surveys.store.responses("product-feedback") == 3

    def test_one_response_per_email(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with(onePerEmail=True)
        self.post(services, "product-feedback", SURVEY)
        with pytest.raises(AlreadyAnsweredError) as caught:
            self.post(services, "product-feedback", {**SURVEY, "email": " ANN@Example.com", "nps": 10})
        assert caught.value.STATUS_CODE == 409 and "already answered" in caught.value.message
        self.post(services, "product-feedback", {**SURVEY, "email": "bob@example.com"})
        assert services.store.count("product-feedback") == 2

    def test_a_refused_post_stores_and_takes_nothing(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with(maxResponses=1, onePerEmail=True)
        first = self.post(services, "product-feedback", SURVEY)
        with pytest.raises(SurveyFullError) as caught:
            self.post(services, "product-feedback", {**SURVEY, "email": "bob@example.com"})
        assert caught.value.STATUS_CODE == 403 and "all the responses" in caught.value.message
        assert services.store.count("product-feedback") == 1
        assert services.surveys.store.responses("product-feedback") == 1
        services.removal.delete("product-feedback", first.submission_id)
        # Bob's refused post marked no address: with a place free again, he may answer.
        self.post(services, "product-feedback", {**SURVEY, "email": "bob@example.com"})

    # --- deletion --------------------------------------------------------------------------------------------------

    def test_deleting_a_response_gives_its_place_and_address_back_once(self, services_with) -> None:  # type: ignore[no-untyped-def]
        services = services_with(maxResponses=2, onePerEmail=True)
        ann = self.post(services, "product-feedback", SURVEY)
        self.post(services, "product-feedback", {**SURVEY, "email": "bob@example.com"})
        with pytest.raises(SurveyFullError):
            self.post(services, "product-feedback", {**SURVEY, "email": "cy@example.com"})
        services.removal.delete("product-feedback", ann.submission_id)
        assert services.surveys.store.responses("product-feedback") == 1
        with pytest.raises(NotFoundError):
            services.removal.delete("product-feedback", ann.submission_id)
        assert services.surveys.store.responses("product-feedback") == 1  # the second deletion gave nothing back
        assert services.store.get("product-feedback", ann.submission_id) is None
        self.post(services, "product-feedback", SURVEY)  # Ann's address is free again, and so is one place
        with pytest.raises(SurveyFullError):
            self.post(services, "product-feedback", {**SURVEY, "email": "cy@example.com"})
        assert services.surveys.store.responses("product-feedback") == 2

    # --- the store failing -----------------------------------------------------------------------------------------

    def test_a_write_refused_by_the_store_is_503_and_stores_nothing(self, services_with, store) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        store.fail_writes(services, maybe_written=False)
        with pytest.raises(StorageUnavailableError) as caught:
            self.post(services, "contact", CONTACT, key="after-outage")
        assert caught.value.STATUS_CODE == 503 and int(caught.value.headers["Retry-After"]) > 0
        assert "nothing was stored" in caught.value.message
        store.heal(services)
        assert services.store.count("contact") == 0
        first = self.post(services, "contact", CONTACT, key="after-outage")
        again = self.post(services, "contact", CONTACT, key="after-outage")
        assert (first.created, again.created, again.submission_id) == (True, False, first.submission_id)
        assert services.store.count("contact") == 1

    def test_a_lost_answer_is_503_and_a_resend_gets_the_first_result(self, services_with, store) -> None:  # type: ignore[no-untyped-def]
        services = services_with()
        store.fail_writes(services, maybe_written=True)
        with pytest.raises(StorageUnavailableError) as caught:
            self.post(services, "contact", CONTACT, key="lost-answer")
        assert caught.value.STATUS_CODE == 503 and "may not have been saved" in caught.value.message
        store.heal(services)
        [stored] = list(services.store.list("contact"))
        again = self.post(services, "contact", CONTACT, key="lost-answer")
        assert again.submission_id == stored.id
        assert services.store.count("contact") == 1

    def test_a_deletion_the_store_refuses_is_503_and_deletes_nothing(self, services_with, store) -> None:  # type: ignore[no-untyped-def]
        services = services_with(maxResponses=1)
        ann = self.post(services, "product-feedback", SURVEY)
        store.fail_writes(services, maybe_written=False)
        with pytest.raises(StorageUnavailableError) as caught:
            services.removal.delete("product-feedback", ann.submission_id)
        # "could not be deleted", or on a deployment with results the results' own "could not be updated".
        assert caught.value.STATUS_CODE == 503 and "again" in caught.value.message
        assert int(caught.value.headers["Retry-After"]) > 0
        store.heal(services)
        assert services.store.get("product-feedback", ann.submission_id) is not None
        assert services.surveys.store.responses("product-feedback") == 1
