"""Webhook targets in definitions, the transport's safety rules, signing secrets, Retry-After and the formats."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.core.config import Settings, webhook_secret_variable
from chalicelib.core.errors import DefinitionError
from chalicelib.forms.checks import check_document
from chalicelib.webhooks.events import Event, slack_body, standard_body
from chalicelib.webhooks.signing import WebhookSecretError, signature_headers, target_secrets
from chalicelib.webhooks.targets import Target, targets_of
from chalicelib.webhooks.transport import (
    WebhookRefusedError,
    WebhookTransport,
    address_problem,
    retry_after_seconds,
)

from .receiver import Receiver, running
from .support import OLD_SECRET, ROOT, SECRET


def _contact(webhooks: Any) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads((ROOT / "forms" / "contact.json").read_text(encoding="utf-8"))
    definition["x-form"]["webhooks"] = webhooks
    return definition


def _problem(webhooks: Any) -> tuple[str, str]:
    with pytest.raises(DefinitionError) as caught:
        check_document(_contact(webhooks), "forms/contact.json")
    return caught.value.json_path, caught.value.message


CRM = {"name": "crm", "url": "https://crm.example.com/hooks", "events": ["submission.received"]}


class TestDefinitions:
    def test_a_valid_list_passes_and_reads_back(self) -> None:
        definition = _contact([CRM, {**CRM, "name": "chat", "format": "slack", "kinds": ["complaint"],
                                     "events": ["submission.received", "gift.claimed"]}])
        check_document(definition, "forms/contact.json")
        crm, chat = targets_of(definition["x-form"])
        assert crm == Target("crm", "https://crm.example.com/hooks", ("submission.received",))
        assert chat.wants("gift.claimed", "complaint") and not chat.wants("gift.claimed", "praise")
        assert not chat.wants("gift.redeemed", "complaint") and crm.wants("submission.received", None)

    def test_a_secret_in_a_definition_is_refused_by_name(self) -> None:
        path, message = _problem([{**CRM, "secret": "whsec_abc"}])
        assert path == "$.x-form.webhooks[0].secret"
        assert "never goes in a definition" in message and "FORMLOOP_WEBHOOK_SECRET_<NAME>" in message

    def test_two_targets_of_one_name_are_refused(self) -> None:
        path, message = _problem([CRM, {**CRM, "url": "https://other.example.com/"}])
        assert path == "$.x-form.webhooks[1].name" and "two webhooks are named 'crm'" in message

    @pytest.mark.parametrize(("target", "path"), [
        ({**CRM, "events": ["submission.deleted"]}, "$.x-form.webhooks[0].events[0]"),
        ({**CRM, "events": []}, "$.x-form.webhooks[0].events"),
        ({**CRM, "url": "ftp://crm.example.com/"}, "$.x-form.webhooks[0].url"),
        ({**CRM, "url": "https://user:pw@crm.example.com/"}, "$.x-form.webhooks[0].url"),
        ({**CRM, "name": "CRM Main"}, "$.x-form.webhooks[0].name"),
        ({**CRM, "format": "teams"}, "$.x-form.webhooks[0].format"),
        ({**CRM, "kinds": ["rant"]}, "$.x-form.webhooks[0].kinds[0]"),
        ({"name": "crm", "events": ["submission.received"]}, "$.x-form.webhooks[0]"),
    ])
    def test_each_malformed_target_is_named_by_its_path(self, target: dict[str, Any], path: str) -> None:
        assert _problem([target])[0] == path


class TestTransportSafety:
    @pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                                         "::1", "fd00:ec2::254", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0",
                                         "100.64.0.1", "224.0.0.1"])
    def test_internal_addresses_are_refused(self, address: str) -> None:
        assert address_problem(address) is not None

    @pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "8.8.8.8"])
    def test_public_addresses_pass(self, address: str) -> None:
        assert address_problem(address) is None

    def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(self) -> None:
        asked: list[str] = []

        def resolver(host: str, port: int) -> list[str]:
            asked.append(host)
            return ["93.184.215.14", "10.0.0.5"]  # one bad answer among good ones is enough

        transport = WebhookTransport(resolver=resolver)
        with pytest.raises(WebhookRefusedError, match="resolves to 10.0.0.5, a private address"):
            transport.post("https://crm.example.com/hooks", b"{}", {})
        assert asked == ["crm.example.com"]

    def test_http_is_refused_outside_the_local_stage(self) -> None:
        with pytest.raises(WebhookRefusedError, match="only https"):
            WebhookTransport().post("http://crm.example.com/hooks", b"{}", {})

    @pytest.mark.parametrize("url", ["https://127.0.0.1:8443/x", "https://[::1]/x", "https://169.254.169.254/x"])
    def test_literal_internal_addresses_are_refused(self, url: str) -> None:
        with pytest.raises(WebhookRefusedError, match="webhooks only go to public addresses"):
            WebhookTransport().post(url, b"{}", {})

    @pytest.fixture
    def receiver(self) -> Iterator[Receiver]:
        with running() as started:
            yield started

    def test_the_checked_address_is_the_one_connected_to_with_the_original_host(self, receiver: Receiver) -> None:
        # Resolved once: a name that would answer differently on a second lookup (DNS rebinding) is never looked
        # up again; the request goes to the checked address and still names its host.
        answers = iter([["127.0.0.1"], ["10.9.9.9"]])
        transport = WebhookTransport(require_https=False, allow_private=True,
                                     resolver=lambda host, port: next(answers))
        response = transport.post(f"http://hooks.test:{receiver.port}/in", b"{}", {})
        assert response.status == 200
        [request] = receiver.requests
        assert request.headers["host"] == f"hooks.test:{receiver.port}"

    def test_answers_are_read_up_to_the_cap(self, receiver: Receiver) -> None:
        from .receiver import Answer
        receiver.answer(Answer(200, body=b"x" * 100_000))
        transport = WebhookTransport(require_https=False, allow_private=True, max_response_bytes=1000)
        assert len(transport.post(receiver.url, b"{}", {}).body) == 1000


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 01 Jan 2030 00:10:00 GMT", now) == 600
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


class TestSecrets:
    def settings(self, **environ: str) -> Settings:
        return Settings.from_environ(environ)

    def test_the_variable_is_named_after_the_target(self) -> None:
        assert webhook_secret_variable("help-desk") == "FORMLOOP_WEBHOOK_SECRET_HELP_DESK"

    def test_one_or_two_secrets(self) -> None:
        assert target_secrets(self.settings(FORMLOOP_WEBHOOK_SECRET_CRM=SECRET), "crm") == [SECRET]
        both = self.settings(FORMLOOP_WEBHOOK_SECRET_CRM=f" {OLD_SECRET} {SECRET} ")
        assert target_secrets(both, "crm") == [OLD_SECRET, SECRET]

    @pytest.mark.parametrize(("value", "message"), [
        ("", "FORMLOOP_WEBHOOK_SECRET_CRM is missing"),
        ("not-a-secret", "must hold secrets starting with 'whsec_'"),
        ("whsec_!!!", "must be base64"),
        ("whsec_c2hvcnQ=", "at least 24 random bytes"),
        (f"{SECRET} {SECRET} {SECRET}", "at most 2"),
    ])
    def test_bad_secrets_are_named(self, value: str, message: str) -> None:
        with pytest.raises(WebhookSecretError, match=message):
            target_secrets(self.settings(FORMLOOP_WEBHOOK_SECRET_CRM=value), "crm")

    def test_headers_verify_with_the_reference_library(self) -> None:
        now = int(datetime.now(UTC).timestamp())
        body = '{"text":"ünïcode"}'.encode()
        headers = signature_headers("msg_1", now, body, [OLD_SECRET, SECRET])
        assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(now)
        assert all(part.startswith("v1,") for part in headers["webhook-signature"].split(" "))
        Webhook(SECRET).verify(body, headers)
        Webhook(OLD_SECRET).verify(body, headers)


def test_event_ids_are_stable_and_sort_by_time() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    first = Event("contact", "gift.claimed", "g1", at)
    assert first.id == Event("contact", "gift.claimed", "g1", at, data={"x": 1}).id
    assert first.id != Event("contact", "gift.redeemed", "g1", at).id
    assert first.id < Event("contact", "gift.claimed", "g0", at.replace(second=1)).id
    assert Event.from_json(first.as_json()) == first


def test_standard_and_slack_bodies() -> None:
    event = Event("contact", "submission.received", "01J", datetime(2030, 1, 1, tzinfo=UTC),
                  data={"submissionId": "01J", "answers": {"message": "a" * 400}, "kind": "idea"})
    assert json.loads(standard_body(event)) == {"type": "submission.received", "timestamp": "2030-01-01T00:00:00Z",
                                                "data": event.data}
    text = json.loads(slack_body(event, "https://forms.example.com/"))["text"]
    assert "*message*: " + "a" * 300 + "…" in text
    assert text.endswith("<https://forms.example.com/admin/forms/contact/submissions/01J|Open the submission>")


def test_repository_forms_still_pass(tmp_path: Path) -> None:
    from chalicelib.forms.definitions import FormRegistry
    assert FormRegistry(ROOT / "forms").get("contact") is not None
