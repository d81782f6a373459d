"""DynamoDB failing under a submit: faults injected at the botocore boundary of the store's own clients.

The store talks to a real DynamoDB Local; event hooks on its botocore clients throttle, time out or
lose responses, the way DynamoDB and the network do in production.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session

CONTACT = {"name": "Ann Lee", "email": "ann@example.com", "topic": "idea", "message": "More colours, please",
           "consent": True}
# The submission store's writes. All tables share one botocore client, so a fault on "every write" would also
# hit the rate-limit counter's UpdateItem, which comes first; that one has its own test below.
WRITES = ("PutItem", "TransactWriteItems")


class _Body:
    """The raw stream botocore reads an injected response from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def throttled(request: AWSPreparedRequest) -> AWSResponse:
    """What DynamoDB answers when a partition is over its throughput."""
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                       "message": "Rate of requests exceeds the allowed throughput."}).encode()
    return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException",
                                          "Content-Type": "application/x-amz-json-1.0"}, _Body(body))


def timed_out(request: AWSPreparedRequest) -> AWSResponse:
    raise ReadTimeoutError(endpoint_url=request.url)


def lost_response(request: AWSPreparedRequest) -> AWSResponse:
    """The write reaches DynamoDB Local and is applied, but its answer never comes back."""
    URLLib3Session().send(request)
    raise ReadTimeoutError(endpoint_url=request.url)


class Faults:
    """Installs a fault on the store's botocore clients for the first `times` write attempts."""

    def __init__(self, clients: list[Any]) -> None:
        # Formloop's tables share one client per process: hook each distinct client once.
        self.clients = list({id(client): client for client in clients}.values())
        self.attempts: list[str] = []
        self._hooks: list[tuple[Any, str, Callable[..., Any]]] = []

    def inject(self, fault: Callable[[AWSPreparedRequest], AWSResponse], *, times: int = 1000,
               operations: tuple[str, ...] = WRITES) -> None:
        def hook(request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
            operation = event_name.rsplit(".", 1)[-1]
            if operation not in operations:
                return None
            self.attempts.append(operation)
            return fault(request) if len(self.attempts) <= times else None

        for client in self.clients:
            for operation in operations:
                event = f"before-send.dynamodb.{operation}"
                client.meta.events.register_first(event, hook)
                self._hooks.append((client, event, hook))

    def lose_answers(self) -> None:
        """Every write is applied, then botocore fails after the call as if the connection dropped."""
        def hook(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
            self.attempts.append(model.name)
            raise ReadTimeoutError(endpoint_url="dynamodb-local")

        for client in self.clients:
            for operation in WRITES:
                event = f"after-call.dynamodb.{operation}"
                client.meta.events.register_first(event, hook)
                self._hooks.append((client, event, hook))

    def clear(self) -> None:
        for client, event, hook in self._hooks:
            client.meta.events.unregister(event, hook)
        self._hooks.clear()


@pytest.fixture
def faults(services) -> Iterator[Faults]:  # type: ignore[no-untyped-def]
    installed = Faults(services.store.botocore_clients())
    yield installed
    installed.clear()


def post(client, key: str | None = None, accept: str = "application/json"):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json", "Accept": accept}
    if key:
        headers["Idempotency-Key"] = key
    return client.http.post("/f/contact", headers=headers, body=json.dumps(CONTACT))


def assert_unavailable(response, detail: str = "again") -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "again" in response.json_body["detail"] and detail in response.json_body["detail"]


@pytest.mark.parametrize("key", [None, "retry-me"])
@pytest.mark.parametrize(("fault", "detail"), [
    # DynamoDB answered "no": nothing was written. No answer at all: the write may have landed.
    (throttled, "nothing was stored"), (timed_out, "may not have been saved"),
], ids=["throttled", "timed-out"])
def test_write_failing_after_retries_is_503_and_stores_nothing(  # type: ignore[no-untyped-def]
    client, services, faults, fault, detail, key,
) -> None:
    faults.inject(fault)
    response = post(client, key)
    assert_unavailable(response, detail)
    # The first attempt and every retry the settings allow, all refused.
    assert len(faults.attempts) == services.settings.storage_retries + 1
    faults.clear()
    assert services.store.count("contact") == 0


def test_browser_sees_a_page_with_retry_after(client, services, faults):  # type: ignore[no-untyped-def]
    faults.inject(throttled)
    response = post(client, accept="text/html")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "send it again" in response.body.decode()
    faults.clear()
    assert services.store.count("contact") == 0


@pytest.mark.parametrize("key", [None, "once-throttled"])
def test_one_throttled_attempt_is_retried_transparently(client, services, faults, key):  # type: ignore[no-untyped-def]
    faults.inject(throttled, times=1)
    response = post(client, key)
    assert response.status_code == 201, response.body
    assert len(faults.attempts) == 2
    assert services.store.count("contact") == 1


def test_resend_with_same_key_after_503_stores_exactly_one(client, services, faults):  # type: ignore[no-untyped-def]
    faults.inject(throttled)
    assert_unavailable(post(client, "after-outage"))
    faults.clear()
    again = post(client, "after-outage")
    assert again.status_code == 201
    twice = post(client, "after-outage")
    assert twice.status_code == 200 and twice.json_body["id"] == again.json_body["id"]
    assert services.store.count("contact") == 1


def test_answer_lost_after_write_then_resend_gets_first_result(client, services, faults):  # type: ignore[no-untyped-def]
    # The transaction commits in DynamoDB, but Formloop never hears back and cannot promise anything.
    faults.lose_answers()
    first = post(client, "lost-answer")
    assert_unavailable(first, "may not have been saved")
    assert faults.attempts == ["TransactWriteItems"]
    faults.clear()
    [stored] = list(services.store.list("contact"))
    again = post(client, "lost-answer")
    assert again.status_code in (200, 201)
    assert again.json_body["id"] == stored.id
    assert services.store.count("contact") == 1


@pytest.mark.parametrize("key", [None, "lost-then-retried"])
def test_answer_lost_inside_botocore_retry_stores_one_and_succeeds(client, services, faults, key):  # type: ignore[no-untyped-def]
    # botocore retries the timed-out write; the retry finds the first attempt already applied.
    faults.inject(lost_response, times=1)
    response = post(client, key)
    assert response.status_code == 201, response.body
    assert len(faults.attempts) == 2
    [stored] = list(services.store.list("contact"))
    assert response.json_body["id"] == stored.id


def test_rate_limited_post_is_one_write_and_its_timeout_is_503(client, services):  # type: ignore[no-untyped-def]
    # contact.json sets perIpPerHour: the counter and the submission go to DynamoDB as one transaction.
    from chalicelib.storage.base import botocore_client
    writes = Faults([botocore_client(services.submissions.limiter.store.counters)])
    writes.inject(timed_out, operations=("TransactWriteItems", "UpdateItem", "PutItem"))
    try:
        assert_unavailable(post(client))
        assert writes.attempts == ["TransactWriteItems"] * (services.settings.storage_retries + 1)
    finally:
        writes.clear()
    assert services.store.count("contact") == 0
    assert len(list(services.submissions.limiter.store.counters.scan())) == 0  # the refused post counted nothing


def test_survey_admission_write_timing_out_is_503_and_stores_nothing(client, services):  # type: ignore[no-untyped-def]
    # product-feedback allows one response per address: the marker is written in the same transaction as the
    # answers, so a write that times out leaves no marker to refuse the resend.
    from chalicelib.storage.base import botocore_client
    answers = {"email": "cy@example.com", "product": "app", "satisfaction": 4, "nps": 9,
               "agreement": {"easy": 4, "fast": 5, "value": 3}, "consent": True}
    surveys = Faults([botocore_client(model) for model in services.submissions.surveys.store.models])
    surveys.inject(timed_out)
    try:
        response = client.http.post("/f/product-feedback", headers={"Content-Type": "application/json"},
                                    body=json.dumps(answers))
        assert_unavailable(response)
    finally:
        surveys.clear()
    assert services.store.count("product-feedback") == 0
    again = client.http.post("/f/product-feedback", headers={"Content-Type": "application/json"},
                             body=json.dumps(answers))
    assert again.status_code == 201, again.body
