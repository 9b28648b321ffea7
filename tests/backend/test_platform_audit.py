"""Discount codes through the operator's REST routes (create, list, read, change, deactivate;
code, kind, value and cycles fixed once redeemed) and the platform's own audit log: the
operator's actions that belong to no tenant (discount codes, tiers, other operator writes)
recorded with before/after and read at GET /v1/platform/audit-logs with the tenant log's
filters and paging; only operators read it, and a tenant's log never shows it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from backend.wiring import Context
from tests.backend.accounts_helpers import log_in, make_user
from tests.backend.conftest import OTHER_ID, OTHER_KEY, merchant_headers, service_headers
from tests.backend.test_billing_tiers import json_of

CODES_URL = "/v1/platform/discount-codes"
AUDIT_URL = "/v1/platform/audit-logs"
OPS = service_headers()


def create(client: Any, status: int = 201, **body: Any) -> Any:
    answer = client.post(CODES_URL, json={"code": "launch", "kind": "percent", "value": 20,
                                          "cycles": 3, "max_redemptions": 2, **body},
                         headers=OPS)
    return json_of(answer, status)


def patch(client: Any, code_id: int, status: int, headers: Any = None, **body: Any) -> Any:
    return json_of(client.patch(f"{CODES_URL}/{code_id}", json=body, headers=headers or OPS),
                   status)


def platform_log(client: Any, headers: Any = None, **query: Any) -> Any:
    return json_of(client.get(AUDIT_URL, query_string=query, headers=headers or OPS), 200)


def test_codes_are_validated_read_and_changed_until_redeemed(client: Any,
                                                             tenants: Context) -> None:
    made = create(client)
    assert (made["code"], made["redeemable"], made["deactivated_at"]) == ("LAUNCH", True, None)
    assert "exists" in create(client, 409, code="Launch")["description"]
    for bad in ({"value": 0}, {"value": 101}, {"kind": "fixed", "value": 0}, {"cycles": 0},
                {"code": "a!"}, {"code": "ab"}, {"kind": "bogus"}, {"max_redemptions": 0}):
        create(client, 422, **{"code": "OTHER", **bad})
    create(client, 201, code="FIXED500", kind="fixed", value=50_000)
    one = json_of(client.get(f"{CODES_URL}/{made['id']}", headers=OPS), 200)
    assert one == made
    assert client.get(f"{CODES_URL}/999999", headers=OPS).status_code == 404
    assert patch(client, 999999, 404, max_redemptions=3)["code"]
    # Before any redemption everything may change; a percentage stays 1-100.
    changed = patch(client, made["id"], 200, code="launch25", value=25, cycles=2)
    assert (changed["code"], changed["value"], changed["cycles"]) == ("LAUNCH25", 25, 2)
    patch(client, made["id"], 422, value=150)
    patch(client, made["id"], 409, code="fixed500")  # another code's
    patch(client, made["id"], 422)  # nothing to change
    # Two merchants redeem it: the promise is fixed from then on.
    patch(client, made["id"], 200, max_redemptions=3)
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    for headers in (merchant_headers(), other):
        json_of(client.patch("/v1/subscription", json={"discount_code": "launch25"},
                             headers=headers), 200)
    for fixed in ({"value": 30}, {"kind": "fixed"}, {"cycles": 5}, {"code": "NEWNAME"}):
        refused = patch(client, made["id"], 409, **fixed)
        assert "redeemed 2 time(s)" in refused["description"]
    assert patch(client, made["id"], 200, value=25)["value"] == 25  # the same value: allowed
    # Expiry and maximum redemptions still change, never below the redemptions made.
    fewer = patch(client, made["id"], 422, max_redemptions=1)
    assert "max_redemptions" in fewer["errors"]
    soon = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    later = patch(client, made["id"], 200, expires_at=soon.isoformat(), max_redemptions=2)
    assert later["max_redemptions"] == 2 and later["redemptions"] == 2
    assert later["redeemable"] is False  # used up
    assert datetime.fromisoformat(later["expires_at"]) == soon
    assert patch(client, made["id"], 200, expires_at=None)["expires_at"] is None


def test_a_deactivated_code_cannot_be_redeemed_and_can_be_offered_again(
        client: Any, tenants: Context) -> None:
    made = create(client, max_redemptions=None)
    off = patch(client, made["id"], 200, active=False)
    assert off["deactivated_at"] and off["redeemable"] is False
    refused = client.patch("/v1/subscription", json={"discount_code": "launch"},
                           headers=merchant_headers())
    assert refused.status_code == 422 and "no longer offered" in refused.get_json()["description"]
    again = patch(client, made["id"], 200, active=False)
    assert again["deactivated_at"] == off["deactivated_at"]  # deactivating twice: the first time
    on = patch(client, made["id"], 200, active=True)
    assert on["deactivated_at"] is None and on["redeemable"] is True
    json_of(client.patch("/v1/subscription", json={"discount_code": "launch"},
                         headers=merchant_headers()), 200)
    listed = json_of(client.get(CODES_URL, headers=OPS), 200)
    assert [(c["code"], c["redemptions"]) for c in listed] == [("LAUNCH", 1)]


def test_only_operators_reach_discount_codes_and_the_platform_log(client: Any,
                                                                 tenants: Context) -> None:
    made = create(client)
    merchant = merchant_headers()
    assert client.get(f"{CODES_URL}/{made['id']}", headers=merchant).status_code == 403
    assert client.patch(f"{CODES_URL}/{made['id']}", json={"active": False},
                        headers=merchant).status_code == 403
    assert client.get(AUDIT_URL, headers=merchant).status_code == 403
    assert client.get(AUDIT_URL).status_code == 401
    make_user(tenants, "owner@shop.example", "owner")
    staff = client.application.test_client()
    log_in(staff, "owner@shop.example")
    assert staff.get(AUDIT_URL).status_code == 403
    # The tenant's own log never shows the platform's records.
    tenant_log = json_of(client.get("/v1/audit-logs", headers=merchant), 200)["results"]
    assert not [r for r in tenant_log if r["action"].startswith("discount_code")]


def test_operator_changes_are_in_the_platform_log_with_before_and_after(
        client: Any, tenants: Context) -> None:
    operator = make_user(tenants, "ops@platform.example", None, is_operator=True)
    ops_client = client.application.test_client()
    csrf = log_in(ops_client, "ops@platform.example")
    answer = ops_client.post(CODES_URL, json={"code": "audit10", "kind": "fixed",
                                              "value": 10_000}, headers=csrf)
    made = json_of(answer, 201)
    json_of(ops_client.patch(f"{CODES_URL}/{made['id']}", json={"max_redemptions": 5,
                                                                "active": False},
                             headers=csrf), 200)
    json_of(ops_client.patch("/v1/platform/tiers/growth", json={"trial_days": 21},
                             headers=csrf), 200)
    # A write no service records (a credentials test) gets the generic platform record.
    json_of(ops_client.post("/v1/platform/twilio-tests", json={
        "twilio_account_sid": "AC" + "ab" * 16, "twilio_auth_token": "x" * 12,
        "sandbox": True}, headers=csrf), 200)
    records = platform_log(client)["results"]
    actions = [r["action"] for r in records]
    assert actions == ["platform.CredentialsTest.post", "tier.update",
                       "discount_code.update", "discount_code.create"]
    by_action = {r["action"]: r for r in records}
    created, updated = by_action["discount_code.create"], by_action["discount_code.update"]
    actor = f"user:{operator}"
    assert (created["actor"], created["target_type"], created["target_id"]) == (
        actor, "discount_code", str(made["id"]))
    assert created["before"] is None and created["after"]["code"] == "AUDIT10"
    assert created["after"]["value"] == 10_000 and created["request_id"]
    assert created["route"] == "POST /v1/platform/discount-codes" and created["ip"]
    assert updated["before"]["max_redemptions"] is None and updated["before"]["deactivated_at"] \
        is None
    assert updated["after"]["max_redemptions"] == 5 and updated["after"]["deactivated_at"]
    tier = by_action["tier.update"]
    assert (tier["target_type"], tier["target_id"], tier["before"], tier["after"]) == (
        "tier", "growth", {"trial_days": 14}, {"trial_days": 21})
    generic = [r for r in records if r["status"] == 200]
    assert generic and generic[0]["route"] == "POST /v1/platform/twilio-tests"
    assert "x" * 12 not in str(records)  # the token is never recorded
    # A change that changes nothing has no before/after record, only the request's generic one;
    # the same filters and paging as the tenant log.
    json_of(ops_client.patch(f"{CODES_URL}/{made['id']}", json={"max_redemptions": 5},
                             headers=csrf), 200)
    assert platform_log(client, action="discount_code.update")["count"] == 1
    records = platform_log(client)["results"]
    assert records[0]["action"] == "billing_platform.OneDiscountCode.patch"
    assert records[0]["before"] is None and records[0]["status"] == 200
    only = platform_log(client, target_type="discount_code", target_id=str(made["id"]))
    assert {r["action"] for r in only["results"]} == {"discount_code.create",
                                                      "discount_code.update"}
    assert platform_log(client, actor=actor)["count"] == len(records)
    assert platform_log(client, actor="service")["count"] == 0
    first = platform_log(client, page=1, page_size=1)
    second = platform_log(client, page=2, page_size=1)
    assert first["count"] == len(records) and len(first["results"]) == 1
    assert first["results"][0]["id"] > second["results"][0]["id"]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert platform_log(client, **{"from": future})["count"] == 0
    assert platform_log(client, to=future)["count"] == len(records)
    assert client.get(AUDIT_URL, query_string={"from": "yesterday"},
                      headers=OPS).status_code == 422
    # An operator action on a tenant stays in that tenant's log, not the platform's.
    json_of(client.post(f"/v1/platform/tenants/{OTHER_ID}/suspension",
                        json={"reason": "test"}, headers=OPS), 200)
    assert platform_log(client)["count"] == len(records)
