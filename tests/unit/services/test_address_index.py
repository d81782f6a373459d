"""Export and erasure by address read the submissions' address indexes, on the in-memory store
(tests/integration/test_address_index.py runs the same class on DynamoDB Local's indexes).

Every spelling that reaches one mailbox is the same person (`normalise_address`, as the survey's one response
per address and the gift's one per respondent count them): someone who asks for their data by `victim@gmail.com`
also gets what they sent as `Victim+1@Gmail.com` or `v.i.c.t.i.m@googlemail.com`."""
from __future__ import annotations

from typing import Any

import pytest
from ulid import ULID

from chalicelib.core.cursor import encode_cursor
from chalicelib.core.errors import MalformedRequestError
from chalicelib.core.submission import Submission
from chalicelib.privacy import erasure
from chalicelib.privacy.erasure import AddressRequests
from chalicelib.wiring import Services, build_memory_services

from .support import Clock, memory_settings


def stored(services: Services, respondent: str | None, reply_to: str | None = None,
           status: str = "received") -> Submission:
    """A contact post stored as the intake stores it: the respondent's address, and a `_replyto` if given."""
    submission = Submission(form="contact", id=str(ULID()), created_at=Clock()(), status=status,
                            answers={"email": respondent or "", "message": "Hello"}, language="en",
                            respondent_email=respondent, reply_to=reply_to)
    services.store.put(submission)
    return submission


def ids(answer: dict[str, Any], key: str = "submissions") -> list[str]:
    return sorted(item["id"] if isinstance(item, dict) else item.rpartition("/")[2] for item in answer[key])


class TestAddressIndex:
    """The same behaviour on whatever submission store the `services` fixture is built on."""

    @pytest.fixture
    def services(self) -> Services:
        return build_memory_services(memory_settings(), clock=Clock())

    def test_every_spelling_of_one_mailbox_is_found(self, services: Services) -> None:
        mine = [stored(services, "Victim+1@Gmail.com"), stored(services, "v.i.c.t.i.m@googlemail.com"),
                stored(services, " victim@gmail.com ")]
        stored(services, "victim2@gmail.com")
        stored(services, "victim@example.com")
        expected = sorted(s.id for s in mine)
        assert ids(services.addresses.export("victim@gmail.com", None)) == expected
        assert ids(services.addresses.export("VICTIM+news@gmail.com", None)) == expected
        assert ids(services.addresses.erase("victim@gmail.com", None), "erased") == expected
        assert services.addresses.export("victim@gmail.com", None)["submissions"] == []
        assert len(services.addresses.export("victim2@gmail.com", None)["submissions"]) == 1

    def test_a_reply_to_of_another_mailbox_is_found_by_either_once(self, services: Services) -> None:
        both = stored(services, "carol@example.com", reply_to="Ann@example.com")
        same = stored(services, "ann@example.com", reply_to="ANN@example.com")
        assert ids(services.addresses.export("ann@example.com", None)) == sorted([both.id, same.id])
        assert ids(services.addresses.export("carol@example.com", None)) == [both.id]

    def test_a_spam_post_known_only_by_its_reply_to_is_found(self, services: Services) -> None:
        spam = stored(services, None, reply_to="ann@example.com", status="spam")
        assert ids(services.addresses.erase("ann@example.com", None), "erased") == [spam.id]
        assert services.store.get("contact", spam.id) is None

    def test_a_request_continues_a_page_per_call_through_both_indexes(self, services: Services,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        mine = {stored(services, "ann@example.com").id for _ in range(3)}
        mine |= {stored(services, "carol@example.com", reply_to="ann@example.com").id for _ in range(2)}
        stored(services, "bob@example.com")
        monkeypatch.setattr(erasure, "PAGE", 1)
        requests = AddressRequests(services.store, services.removal, budget_seconds=0)  # a page per call
        erased: list[str] = []
        cursor, calls = None, 0
        while True:
            answer = requests.erase("ann@example.com", cursor)
            erased += answer["erased"]
            cursor, calls = answer["cursor"], calls + 1
            if cursor is None:
                break
        assert sorted(erased) == sorted(f"contact/{i}" for i in mine) and calls >= 4
        assert [s.respondent_email for s in services.store.list("contact")] == ["bob@example.com"]

    def test_a_cursor_that_names_no_index_is_refused(self, services: Services) -> None:
        stored(services, "ann@example.com")
        for cursor in (encode_cursor({"form": "contact", "after": str(ULID())}),  # a table scan's, from before
                       encode_cursor({"in": "by-everything", "form": "contact", "after": str(ULID())})):
            with pytest.raises(MalformedRequestError, match="start again without it"):
                services.addresses.erase("ann@example.com", cursor)
        assert services.store.count("contact") == 1
