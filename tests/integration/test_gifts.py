"""Thank-you gifts end to end against DynamoDB Local: promised links, claims, redemption, codes and stock."""
from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib.core.addresses import normalise_address
from chalicelib.core.errors import (
    AlreadyRedeemedError,
    CodesRejectedError,
    GiftGoneError,
    GiftLinkError,
    NotFoundError,
    RateLimitedError,
)
from chalicelib.core.keys import AdminAuth, hash_key
from chalicelib.gifts import service as gifts_module
from chalicelib.gifts.campaigns import ALPHABET, generate_code, normalise_code
from chalicelib.gifts.service import GiftService
from formloop_cli import gifts as gifts_cli

from .gift_support import Clock, claimed, codes_csv, gift_service, promised, submission

KEY = "gift-admin-key-for-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}


@pytest.fixture
def gifts(services: Any, tmp_path: Path) -> GiftService:
    """A pool campaign of 5 codes (SHOP-00000 …) for customer-survey, valid 30 days after issue."""
    service = gift_service(services, tmp_path, expiry={"daysAfterIssue": 30})
    service.load_codes("test-gift", codes_csv(5))
    return service


@pytest.fixture
def app_client(client: Any, services: Any, gifts: GiftService) -> Iterator[Any]:
    """The HTTP client, with the test campaign's service and an admin key."""
    saved = services.gifts, services.admin
    services.gifts, services.admin = gifts, AdminAuth([hash_key(KEY)])
    yield client
    services.gifts, services.admin = saved


def state_of(gifts: GiftService, gift_id: str) -> tuple[Any, ...]:
    """Everything a request could change about a gift."""
    return (gifts.store.gift(gift_id), gifts.store.history(gift_id), gifts.store.stock("test-gift"))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- promising: the answer gets a link, the claim takes the code --------------------------------------------

def test_one_gift_per_respondent_whatever_the_spelling_of_the_address(gifts: GiftService) -> None:
    first = gifts.promise(submission("Ann.Lee+survey@gmail.com"))
    assert first is not None and first.gift is not None and first.created
    for spelling in ("annlee@googlemail.com", "ANN.LEE@gmail.com", "a.n.n.l.e.e+x@Gmail.com"):
        again = gifts.promise(submission(spelling))
        assert again is not None and again.gift == first.gift and not again.created
    other = gifts.promise(submission("ann.lee@example.com"))
    assert other is not None and other.gift is not None and other.gift.id != first.gift.id
    stock = gifts.stock("test-gift")
    assert (stock["available"], stock["promised"], stock["loaded"]) == (5, 2, 5)
    assert [event.event for event in gifts.store.history(first.gift.id)] == ["promised"]


def test_a_retried_submission_gets_the_same_gift_and_link(gifts: GiftService) -> None:
    stored = submission("bob@example.com")
    first = gifts.acknowledgement_extra(stored)
    second = gifts.acknowledgement_extra(stored)
    assert first == second
    block = first["gift"]
    assert block["out_of_stock"] is False and block["title"] == "A thank-you coupon" and block["value"] == "15% off"
    assert "/g/" in block["url"] and "?t=" in block["url"]
    assert "SHOP-" not in json.dumps(first)  # the code is only ever shown on the claimed page
    stock = gifts.stock("test-gift")
    assert (stock["promised"], stock["available"]) == (1, 5)


@pytest.mark.parametrize("stored", [submission(None), submission("not-an-address"),
                                    submission("spammer@example.com", status="spam")])
def test_only_valid_non_spam_submissions_with_an_address_earn_a_gift(gifts: GiftService, stored: Any) -> None:
    assert gifts.promise(stored) is None
    assert gifts.acknowledgement_extra(stored) == {}
    assert gifts.stock("test-gift")["promised"] == 0


def test_forms_without_a_campaign_earn_nothing(services: Any) -> None:
    contact = submission("ann@example.com")
    contact.form = "contact"
    assert services.gifts.promise(contact) is None


def test_out_of_stock_is_answered_politely_and_stores_nothing(gifts: GiftService) -> None:
    for n in range(5):
        claimed(gifts, f"r{n}@example.com")
    late = submission("late@example.com", language="ru")
    block = gifts.acknowledgement_extra(late)["gift"]
    assert block == {"url": None, "title": "Купон", "value": "15% off", "description": "", "out_of_stock": True,
                     "expires_at": None}
    assert gifts.store.respondent_gift("test-gift", gifts_module.respondent_key("late@example.com")) is None
    stock = gifts.stock("test-gift")
    assert (stock["available"], stock["claimed"], stock["promised"], stock["lowStock"]) == (0, 5, 0, True)


def test_a_flood_of_answers_takes_no_stock_and_real_people_still_claim(gifts: GiftService) -> None:
    links = [promised(gifts, f"throwaway{n}@example.com") for n in range(20)]
    stock = gifts.stock("test-gift")
    assert (stock["available"], stock["promised"]) == (5, 20)
    assert all(gift_id is None for _, _, gift_id in gifts.store.codes_of("test-gift"))
    page = gifts.claim(*promised(gifts, "real.person@example.com"))
    assert page.code and page.code.startswith("SHOP-")
    assert [gift_id for gift_id, _ in links if gifts.store.gift(gift_id).state != "promised"] == []  # type: ignore[union-attr]


def test_a_broken_campaign_file_does_not_hold_back_the_acknowledgement(services: Any, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    gifts = gift_service(services, tmp_path)
    (gifts.campaigns.folder / "test-gift.json").write_text('{"form": "customer-survey"}', encoding="utf-8")
    assert gifts.acknowledgement_extra(submission("ann@example.com")) == {}
    assert "test-gift.json" in caplog.text and "'title' is a required property" in caplog.text
    assert [str(e).split(": at ")[1] for e in gifts.campaigns.check(gifts.forms)] == [
        "$: 'title' is a required property"]


def test_a_campaign_past_its_end_date_issues_nothing(services: Any, tmp_path: Path) -> None:
    gifts = gift_service(services, tmp_path, expiry={"until": "2026-04-30T00:00:00Z"})
    gifts.load_codes("test-gift", codes_csv(2))
    outcome = gifts.promise(submission("ann@example.com"))
    assert outcome is not None and outcome.out_of_stock
    assert gifts.stock("test-gift")["available"] == 2


# --- the link: GET shows, POST claims ---------------------------------------------------------------------

def test_get_shows_the_gift_and_changes_nothing(app_client: Any, gifts: GiftService) -> None:
    gift_id, _ = promised(gifts, "ann@example.com")
    before = state_of(gifts, gift_id)
    for _ in range(3):  # mail scanners and link previews open links, sometimes several times
        page = app_client.http.get(path_of(gifts.link(gift_id)))
        assert page.status_code == 200
        body = page.body.decode()
        assert "A thank-you coupon" in body and "Show my code" in body and "SHOP-" not in body
        assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert state_of(gifts, gift_id) == before  # a scanner's GET takes no code either


def test_post_claims_once_and_shows_the_same_code_every_time(app_client: Any, gifts: GiftService) -> None:
    gift_id, token = promised(gifts, "ann@example.com")
    path = f"/g/{gift_id}"
    pages = [app_client.http.post(path, headers=FORM, body=f"t={token}") for _ in range(3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    code = gifts.store.gift(gift_id).display  # type: ignore[union-attr]
    assert code and all(code in p.body.decode() for p in pages)
    assert [e.event for e in gifts.store.history(gift_id)] == ["promised", "claimed"]
    stock = gifts.stock("test-gift")
    assert (stock["promised"], stock["claimed"], stock["available"]) == (0, 1, 4)
    # Once claimed, GET still only offers the button: the code never appears on a GET.
    page = app_client.http.get(path_of(gifts.link(gift_id)))
    assert code not in page.body.decode() and "already revealed" in page.body.decode()


def test_a_claim_after_the_gifts_ran_out_gets_a_kind_page(app_client: Any, gifts: GiftService) -> None:
    late_id, late_token = promised(gifts, "late@example.com")
    for n in range(5):
        claimed(gifts, f"r{n}@example.com")
    response = app_client.http.post(f"/g/{late_id}", headers=FORM, body=f"t={late_token}")
    assert response.status_code == 410
    body = response.body.decode()
    assert "all the gifts of this survey were claimed" in body and "Thank you for your answers" in body
    assert "SHOP-" not in body
    assert gifts.store.gift(late_id).state == "promised"  # type: ignore[union-attr]


@pytest.mark.parametrize("token", ["", "x", "A" * 32, "A" * 5000, "%00%ff", "t'><script>"])
def test_wrong_tokens_get_a_clear_page_and_no_code(app_client: Any, gifts: GiftService, token: str) -> None:
    gift_id, _ = promised(gifts, "ann@example.com")
    before = state_of(gifts, gift_id)
    response = app_client.http.post(f"/g/{gift_id}", headers=FORM, body=f"t={token}")
    # A body that is not UTF-8 once decoded is refused before any token is compared.
    assert response.status_code == (400 if token == "%00%ff" else 403)
    assert "not valid" in response.body.decode() and "SHOP-" not in response.body.decode()
    assert "<script>" not in response.body.decode()
    assert state_of(gifts, gift_id) == before


def test_a_token_replayed_on_another_gift_is_refused(app_client: Any, gifts: GiftService) -> None:
    _, my_token = promised(gifts, "ann@example.com")
    their_id, _ = promised(gifts, "bob@example.com")
    response = app_client.http.post(f"/g/{their_id}", headers=FORM, body=f"t={my_token}")
    assert response.status_code == 403 and "SHOP-" not in response.body.decode()
    assert gifts.store.gift(their_id).state == "promised"  # type: ignore[union-attr]


@pytest.mark.parametrize("gift_id", ["nope", "A" * 16, "..%2F..%2Fetc", "x" * 300])
def test_unknown_gifts_get_a_clear_404(app_client: Any, gift_id: str) -> None:
    for response in (app_client.http.get(f"/g/{gift_id}?t=abc"),
                     app_client.http.post(f"/g/{gift_id}", headers=FORM, body="t=abc")):
        assert response.status_code == 404 and "no gift at this address" in response.body.decode()


def test_wrong_tokens_are_rate_limited_per_client_and_never_lock_the_owner_out(app_client: Any,
                                                                              gifts: GiftService) -> None:
    gift_id, token = promised(gifts, "ann@example.com")
    other_id, _ = promised(gifts, "bob@example.com")
    path = f"/g/{gift_id}"
    statuses = [app_client.http.post(path, headers=FORM, body=f"t=guess{n}").status_code for n in range(12)]
    assert statuses == [403] * 10 + [429] * 2
    # The limit is the guessing client's, not the gift's: its next guess at another gift waits too ...
    limited = app_client.http.post(f"/g/{other_id}", headers=FORM, body="t=guess")
    assert limited.status_code == 429 and "SHOP-" not in limited.body.decode()
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    # ... while the right token always opens the gift, even from that same network.
    assert app_client.http.get(path_of(gifts.link(gift_id))).status_code == 200
    opened = app_client.http.post(path, headers=FORM, body=f"t={token}")
    assert opened.status_code == 200 and "SHOP-" in opened.body.decode()
    assert isinstance(gifts.clock, Clock)
    gifts.clock.advance(hours=1)
    assert app_client.http.post(path, headers=FORM, body="t=guess").status_code == 403


def test_expired_gifts_get_a_clear_page_and_a_post_records_the_expiry(app_client: Any, gifts: GiftService) -> None:
    gift_id, token = promised(gifts, "ann@example.com")
    assert isinstance(gifts.clock, Clock)
    gifts.clock.advance(days=31)
    before = state_of(gifts, gift_id)
    page = app_client.http.get(path_of(gifts.link(gift_id)))
    assert page.status_code == 410 and "expired on 2030-05-31" in page.body.decode()
    assert state_of(gifts, gift_id) == before  # GET never writes, not even the expiry
    claim = app_client.http.post(f"/g/{gift_id}", headers=FORM, body=f"t={token}")
    assert claim.status_code == 410 and "SHOP-" not in claim.body.decode()
    assert [e.event for e in gifts.store.history(gift_id)] == ["promised", "expired"]
    stock = gifts.stock("test-gift")
    assert (stock["expired"], stock["promised"], stock["available"]) == (1, 0, 5)


def test_a_claimed_gift_past_its_date_can_no_longer_be_redeemed(gifts: GiftService) -> None:
    gift, _ = claimed(gifts, "ann@example.com")
    assert gift.display and isinstance(gifts.clock, Clock)
    gifts.clock.advance(days=30)
    with pytest.raises(GiftGoneError, match="expired"):
        gifts.redeem_code(gift.display)
    assert gifts.store.gift(gift.id).state == "expired"  # type: ignore[union-attr]
    assert gifts.expire_due("test-gift") == 0


def test_expire_due_records_every_gift_past_its_date(gifts: GiftService) -> None:
    links = [promised(gifts, f"r{n}@example.com") for n in range(3)]
    assert isinstance(gifts.clock, Clock)
    gifts.clock.advance(days=30, seconds=1)
    assert gifts.expire_due("test-gift") == 3
    assert all(gifts.store.gift(gift_id).state == "expired" for gift_id, _ in links)  # type: ignore[union-attr]
    stock = gifts.stock("test-gift")
    assert (stock["promised"], stock["expired"]) == (0, 3)


def test_the_hourly_schedule_records_expiries_in_every_campaign(services: Any, gifts: GiftService) -> None:
    import dataclasses

    from chalicelib.jobs import expire_gifts
    outcomes = [gifts.promise(submission(f"e{n}@example.com")) for n in range(2)]
    scoped = dataclasses.replace(services, gifts=gifts)
    assert expire_gifts(scoped) == 0
    assert isinstance(gifts.clock, Clock)
    gifts.clock.advance(days=30, seconds=1)
    assert expire_gifts(scoped) == 2
    assert gifts.stock("test-gift")["expired"] == 2
    assert all(gifts.store.gift(o.gift.id).state == "expired" for o in outcomes if o and o.gift)  # type: ignore[union-attr]


def test_revoked_gifts_show_nothing(app_client: Any, gifts: GiftService) -> None:
    gift, token = claimed(gifts, "ann@example.com")
    assert gift.display
    gifts.revoke(gift.id)
    for response in (app_client.http.get(path_of(gifts.link(gift.id))),
                     app_client.http.post(f"/g/{gift.id}", headers=FORM, body=f"t={token}")):
        assert response.status_code == 410 and "withdrawn" in response.body.decode()
        assert gift.display not in response.body.decode()
    with pytest.raises(GiftGoneError):
        gifts.redeem_code(gift.display)
    assert [e.event for e in gifts.store.history(gift.id)] == ["promised", "claimed", "revoked"]
    stock = gifts.stock("test-gift")
    assert (stock["claimed"], stock["revoked"], stock["available"]) == (0, 1, 4)


def test_admins_revoke_a_gift_over_http(app_client: Any, gifts: GiftService) -> None:
    outcome = gifts.promise(submission("ann@example.com"))
    assert outcome and outcome.gift and outcome.token
    body = json.dumps({"gift": outcome.gift.id})
    json_type = {"Content-Type": "application/json"}
    assert app_client.http.post("/admin/gifts/revoke", headers=json_type, body=body).status_code == 401
    response = app_client.http.post("/admin/gifts/revoke", headers={**AUTH, **json_type}, body=body)
    assert response.status_code == 200, response.body
    assert response.json_body == {"gift": outcome.gift.id, "state": "revoked", "campaign": "test-gift"}
    assert app_client.http.get(path_of(gifts.link(outcome.gift.id))).status_code == 410
    again = app_client.http.post("/admin/gifts/revoke", headers={**AUTH, **json_type}, body=body)
    assert again.status_code == 409 and "revoked gift cannot be revoked" in again.body.decode()
    missing = app_client.http.post("/admin/gifts/revoke", headers={**AUTH, **json_type}, body='{"gift": "nope"}')
    assert missing.status_code == 404


def test_ten_thousand_guessed_tokens_reveal_nothing(gifts: GiftService) -> None:
    outcome = gifts.promise(submission("ann@example.com"))
    assert outcome is not None and outcome.gift is not None and outcome.token
    import secrets

    def guess(_: int) -> str:
        try:
            page = gifts.claim(outcome.gift.id, secrets.token_urlsafe(24))  # type: ignore[union-attr]
        except GiftLinkError:
            return "wrong"
        except RateLimitedError:
            return "limited"
        return f"revealed {page.code}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, range(10_000)))
    assert answers.count("wrong") == 10 and answers.count("limited") == 9_990
    assert gifts.store.gift(outcome.gift.id).state == "promised"  # type: ignore[union-attr]
    assert gifts.claim(outcome.gift.id, outcome.token).code  # and the owner still gets in


# --- redemption ---------------------------------------------------------------------------------------------

def test_admin_redeems_a_typed_code_exactly_once(app_client: Any, gifts: GiftService) -> None:
    gift, _ = claimed(gifts, "ann@example.com")
    assert gift.display
    typed = " " + gift.display.lower().replace("-", " ") + " "
    first = app_client.http.post("/admin/gifts/redeem", headers={**AUTH, "Content-Type": "application/json"},
                                 body=json.dumps({"code": typed}))
    assert first.status_code == 200, first.body
    assert first.json_body["redeemed"] is True and first.json_body["code"] == gift.display
    again = app_client.http.post("/admin/gifts/redeem", body=f"code={gift.display}",
                                 headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded",
                                          "Accept": "application/json"})
    assert again.status_code == 409
    assert again.json_body["redeemedAt"] == first.json_body["redeemedAt"]
    assert "already redeemed on 2030-05-01 12:00 UTC" in again.json_body["detail"]
    assert [e.event for e in gifts.store.history(gift.id)] == ["promised", "claimed", "redeemed"]


@pytest.mark.parametrize("body,status", [("code=", 422), ("code=NOPE-NOPE", 404), ("code=SHOP-00004", 409)])
def test_redeeming_bad_codes_is_refused_clearly(app_client: Any, gifts: GiftService, body: str, status: int) -> None:
    response = app_client.http.post("/admin/gifts/redeem", body=body, headers={
        **AUTH, "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    assert response.status_code == status and response.json_body["detail"]


def test_admin_gift_routes_need_the_key(app_client: Any) -> None:
    for response in (app_client.http.post("/admin/gifts/redeem", body="code=SHOP-00000",
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}),
                     app_client.http.get("/admin/gifts/test-gift/stock", headers={"Authorization": "Bearer nope"}),
                     app_client.http.post("/admin/gifts/test-gift/codes", body="code\nX1",
                                          headers={"Content-Type": "text/csv"})):
        assert response.status_code == 401


def test_the_respondent_marks_a_digital_gift_used(app_client: Any, gifts: GiftService) -> None:
    gift_id, token = promised(gifts, "ann@example.com")
    early = app_client.http.post(f"/g/{gift_id}/redeem", headers={**FORM, "Accept": "application/json"},
                                 body=f"t={token}")
    assert early.status_code == 409 and "reveal your code first" in early.json_body["detail"]
    page = app_client.http.post(f"/g/{gift_id}", headers=FORM, body=f"t={token}")
    assert "I have used this code" in page.body.decode()
    used = app_client.http.post(f"/g/{gift_id}/redeem", headers=FORM, body=f"t={token}")
    assert used.status_code == 200 and "Marked as used" in used.body.decode()
    gift = gifts.store.gift(gift_id)
    assert gift is not None and gift.redeemed_by == "respondent" and gift.display
    with pytest.raises(AlreadyRedeemedError):
        gifts.redeem_code(gift.display)


def test_shop_gifts_cannot_be_marked_used_by_the_respondent(services: Any, tmp_path: Path) -> None:
    gifts = gift_service(services, tmp_path, digital=False)
    gifts.load_codes("test-gift", codes_csv(1))
    gift, token = claimed(gifts, "ann@example.com")
    with pytest.raises(Exception, match="redeemed at the shop"):
        gifts.redeem_own(gift.id, token)
    assert gifts.store.gift(gift.id).state == "claimed"  # type: ignore[union-attr]


# --- codes and stock ----------------------------------------------------------------------------------------

def test_admin_loads_codes_idempotently_and_sees_stock(app_client: Any, gifts: GiftService) -> None:
    headers = {**AUTH, "Content-Type": "text/csv"}
    first = app_client.http.post("/admin/gifts/test-gift/codes", headers=headers, body=codes_csv(30, "NEW"))
    assert first.status_code == 200, first.body
    assert (first.json_body["added"], first.json_body["alreadyPresent"]) == (30, 0)
    again = app_client.http.post("/admin/gifts/test-gift/codes", headers=headers, body=codes_csv(30, "NEW"))
    assert (again.json_body["added"], again.json_body["alreadyPresent"]) == (0, 30)
    stock = app_client.http.get("/admin/gifts/test-gift/stock", headers=AUTH)
    assert stock.status_code == 200
    assert {k: stock.json_body[k] for k in ("loaded", "available", "issued", "claimed", "redeemed", "expired")} == {
        "loaded": 35, "available": 35, "issued": 0, "claimed": 0, "redeemed": 0, "expired": 0}
    assert stock.json_body["lowStock"] is False


@pytest.mark.parametrize("body,message", [
    ("code\nA-1\nB-2\na1\n", "repeats line 2"),
    ("code\n" + "X" * 65 + "\n", "not a usable code"),
    ("code\n\n", "no codes"),
])
def test_bad_code_files_are_refused_whole(app_client: Any, gifts: GiftService, body: str, message: str) -> None:
    response = app_client.http.post("/admin/gifts/test-gift/codes", body=body,
                                    headers={**AUTH, "Content-Type": "text/csv", "Accept": "application/json"})
    assert response.status_code == 422 and message in response.json_body["detail"]
    assert gifts.stock("test-gift")["loaded"] == 5


def test_codes_for_unknown_campaigns_and_non_utf8_files_are_refused(app_client: Any) -> None:
    unknown = app_client.http.post("/admin/gifts/no-such/codes", body="code\nA1",
                                   headers={**AUTH, "Content-Type": "text/csv", "Accept": "application/json"})
    assert unknown.status_code == 404
    binary = app_client.http.post("/admin/gifts/test-gift/codes", body=b"\xff\xfe\x00bad",
                                  headers={**AUTH, "Content-Type": "text/csv", "Accept": "application/json"})
    assert binary.status_code == 422 and "UTF-8" in binary.json_body["detail"]


def test_oversized_code_uploads_are_refused_before_parsing(app_client: Any, gifts: GiftService) -> None:
    body = codes_csv(1) + "X" * (5 * 1024 * 1024)
    response = app_client.http.post("/admin/gifts/test-gift/codes", body=body,
                                    headers={**AUTH, "Content-Type": "text/csv", "Accept": "application/json"})
    assert response.status_code == 413 and "formloop gifts load" in response.json_body["detail"]
    assert gifts.stock("test-gift")["loaded"] == 5


def test_cli_loads_a_large_file_with_a_progress_bar(services: Any, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    gifts = gift_service(services, tmp_path)
    settings = gifts.settings
    environ = {"FORMLOOP_DYNAMODB_ENDPOINT": settings.dynamodb_endpoint or "",
               "FORMLOOP_TABLE_PREFIX": settings.table_prefix, "FORMLOOP_FORMS_DIR": str(settings.forms_dir)}
    csv_file = tmp_path / "codes.csv"
    csv_file.write_text(codes_csv(2000, "BULK"), encoding="utf-8")
    assert gifts_cli.main(["load", "test-gift", str(csv_file)], environ) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["added"] == 2000 and "2000/2000 codes" in err
    assert gifts_cli.main(["load", "test-gift", str(csv_file)], environ) == 0
    assert json.loads(capsys.readouterr().out) == {"campaign": "test-gift", "added": 0, "alreadyPresent": 2000}
    assert gifts_cli.main(["stock", "test-gift"], environ) == 0
    assert json.loads(capsys.readouterr().out)["available"] == 2000
    assert gifts_cli.main(["load", "test-gift"], environ) == 2


def test_generated_campaigns_are_topped_up_once_at_start(services: Any) -> None:
    gifts = services.gifts
    assert gifts.ensure_all_generated() == {"spring-coupon": 200}
    assert gifts.ensure_all_generated() == {"spring-coupon": 0}
    assert gifts.stock("spring-coupon")["available"] == 200


def test_shipped_definitions_are_consistent(services: Any) -> None:
    assert services.gifts.campaigns.check(services.forms) == []


# --- unit-level pieces ----------------------------------------------------------------------------------------

def test_generated_codes_are_readable_and_long_enough() -> None:
    code = generate_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4] and set("".join(groups)) <= set(ALPHABET)
    assert len("".join(groups)) * 5 >= 60 and not set("01IO") & set(code)
    assert normalise_code(code.lower().replace("-", " ")) == code.replace("-", "")
    assert normalise_code("ＡＢＣＤ–１２") == "ABCD12"  # full-width characters and an en dash, as phones type them


@pytest.mark.parametrize("address,key", [
    ("Ann.Lee@Example.com", "ann.lee@example.com"), ("ann+shop@example.com", "ann@example.com"),
    ("A.n.N+x@googlemail.com", "ann@gmail.com"), ("ann@gmail.com", "ann@gmail.com"),
])
def test_email_normalisation(address: str, key: str) -> None:
    assert normalise_address(address) == key


def test_missing_gift_secret_outside_local_is_a_named_setting_error(services: Any) -> None:
    from dataclasses import replace

    from chalicelib.core.config import SettingError, Settings
    assert Settings.from_environ({"FORMLOOP_STAGE": "prod"}).gift_secret is None
    broken = GiftService(replace(services.settings, gift_secret=None), services.forms, services.gifts.store)
    with pytest.raises(SettingError, match="FORMLOOP_GIFT_SECRET"):
        broken.token("abc")
    with pytest.raises(SettingError, match="at least 32"):
        Settings.from_environ({"FORMLOOP_GIFT_SECRET": "short"})


def test_unknown_campaign_is_a_404(services: Any) -> None:
    with pytest.raises(NotFoundError):
        services.gifts.stock("nope")
    with pytest.raises(CodesRejectedError):
        services.gifts.load_codes("spring-coupon", "code\n")


# --- the whole flow -------------------------------------------------------------------------------------------

def test_survey_post_to_email_link_to_claimed_code(app_client: Any, services: Any, gifts: GiftService,
                                                   tmp_path: Path) -> None:
    import re
    from dataclasses import replace
    from email import message_from_bytes, policy

    from chalicelib.mail.content import EmailTemplates
    from chalicelib.mail.delivery import DeliveryService
    from chalicelib.mail.transport import OutboxMailer

    posted = app_client.http.post("/f/customer-survey", headers={**FORM, "Accept": "application/json"},
                                  body="nps=9&csat=5&email=Zoe.Q%2Bsurvey%40gmail.com")
    assert posted.status_code == 201, posted.body
    [stored] = list(services.store.list("customer-survey"))
    outbox = OutboxMailer(tmp_path / "outbox")
    settings = replace(gifts.settings, mail=replace(gifts.settings.mail, admin_base_url="https://forms.example.com"))
    gifts.settings = settings
    templates = EmailTemplates(Path(__file__).resolve().parents[2] / "forms" / "templates")
    delivery = DeliveryService(settings, gifts.forms, services.delivery.store, outbox, templates,
                               extras=[gifts.acknowledgement_extra], sleep=lambda seconds: None)
    delivery(stored)
    delivery(stored)  # a redelivered stream record: still one gift, one email
    emails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.folder.glob("*.eml")]
    [ack] = [m for m in emails if m["To"] and "zoe" in m["To"].lower()]
    text = ack.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https://forms\.example\.com(/g/[A-Za-z0-9_-]{16}\?t=[A-Za-z0-9_=-]+)", text)
    assert link is not None and "A thank-you coupon" in text
    stock = gifts.stock("test-gift")  # the email promised a gift; no code is taken before the claim
    assert (stock["promised"], stock["available"]) == (1, 5)
    page = app_client.http.get(link.group(1))
    assert page.status_code == 200 and "Show my code" in page.body.decode()
    gift_id, token = link.group(1)[3:19], link.group(1).split("?t=")[1]
    page = app_client.http.post(f"/g/{gift_id}", headers=FORM, body=f"t={token}")
    assert page.status_code == 200 and re.search(r"SHOP-0000[0-4]", page.body.decode())
    stock = gifts.stock("test-gift")
    assert (stock["promised"], stock["claimed"], stock["available"]) == (0, 1, 4)
