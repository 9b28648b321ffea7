"""Tiers are data: the operator lists, creates and changes them; limits and fees follow the
table at once; a tier change (operator or merchant) is refused while usage exceeds the tier."""

from __future__ import annotations

from typing import Any

from backend.domain.ledger import (
    EXTERNAL_PAYOUTS,
    PAYMENT,
    PAYOUT,
    TENANT_HELD,
    TENANT_WALLET,
    WITHDRAWAL_HOLD,
    move_legs,
    payment_legs,
    platform_account_key,
    split_fee,
    tenant_account_key,
)
from backend.domain.tiers import DEFAULT_TIERS
from backend.services.payments.wallets import post_transaction
from backend.services.platform.tiers import load_tiers
from backend.wiring import Context
from tests.backend.conftest import OTHER_ID, TENANT_ID, merchant_headers, service_headers

TIERS_URL = "/v1/platform/tiers"


def json_of(response: Any, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def add_services(client: Any, count: int, tenant: str = TENANT_ID) -> None:
    for n in range(count):
        json_of(client.post("/v1/services", json={"name": f"Cut {n}"},
                            headers=service_headers(tenant)), 201)


def test_seeded_tiers_have_prices_limits_and_a_trial(client: Any, tenants: Context) -> None:
    listed = json_of(client.get(TIERS_URL, headers=service_headers()), 200)
    assert [t["name"] for t in listed] == ["starter", "growth", "enterprise"]
    starter = listed[0]
    assert (starter["monthly_price_minor"], starter["yearly_price_minor"]) == (150_000, 1_500_000)
    assert (starter["max_products"], starter["max_services"], starter["trial_days"]) == (100, 10, 14)
    assert starter["fee_basis_points"] == 300 and starter["currency"] == "KES"
    assert listed[2]["max_products"] is None  # enterprise: no limit
    # Only the operator: a merchant's key cannot list, create or change tiers.
    assert client.get(TIERS_URL, headers=merchant_headers()).status_code == 403
    assert client.post(TIERS_URL, json={"name": "x"}, headers=merchant_headers()).status_code == 403


def test_operator_creates_and_changes_tiers(client: Any, tenants: Context) -> None:
    pro = {"name": "pro", "monthly_price_minor": 300_000, "yearly_price_minor": 3_000_000,
           "max_products": 500, "max_services": 20, "max_users": 5,
           "max_messages_per_month": 8_000, "max_messages_per_day": 800,
           "fee_basis_points": 250, "payment_facilitation": True, "trial_days": 30,
           "features": {"campaigns": True}}
    made = json_of(client.post(TIERS_URL, json=pro, headers=service_headers()), 201)
    assert made == {**pro, "currency": "KES"}
    assert client.post(TIERS_URL, json=pro, headers=service_headers()).status_code == 409
    bad = client.post(TIERS_URL, json={**pro, "name": "Pro Plan!"}, headers=service_headers())
    assert bad.status_code == 422 and "name" in bad.get_json()["errors"]
    negative = client.post(TIERS_URL, json={**pro, "name": "cheap", "monthly_price_minor": -1},
                           headers=service_headers())
    assert negative.status_code == 422
    # A tenant moves to the new tier; its settings show the new tier's limits.
    moved = json_of(client.patch(f"/internal/v1/tenants/{TENANT_ID}", json={"tier": "pro"},
                                 headers=service_headers()), 200)
    assert moved["tier"] == "pro" and moved["usage"]["max_products"] == 500
    assert moved["usage"]["fee_basis_points"] == 250
    changed = json_of(client.patch(f"{TIERS_URL}/pro", json={"fee_basis_points": 150},
                                   headers=service_headers()), 200)
    assert changed["fee_basis_points"] == 150
    shown = json_of(client.get("/v1/tenant", headers=merchant_headers()), 200)
    assert shown["usage"]["fee_basis_points"] == 150  # no stale cache after a change
    assert client.patch(f"{TIERS_URL}/gold", json={"trial_days": 1},
                        headers=service_headers()).status_code == 404
    assert client.patch(f"{TIERS_URL}/pro", json={}, headers=service_headers()).status_code == 422
    unknown = client.patch(f"/internal/v1/tenants/{TENANT_ID}", json={"tier": "gold"},
                           headers=service_headers())
    assert unknown.status_code == 422 and "gold" in unknown.get_json()["description"]


def test_limits_follow_the_table_at_once(client: Any, tenants: Context) -> None:
    add_services(client, 2)
    json_of(client.patch(f"{TIERS_URL}/starter", json={"max_services": 2},
                         headers=service_headers()), 200)
    over = client.post("/v1/services", json={"name": "Third"}, headers=service_headers(TENANT_ID))
    assert over.status_code == 403 and "allows 2 services" in over.get_json()["description"]
    json_of(client.patch(f"{TIERS_URL}/starter", json={"max_services": None},
                         headers=service_headers()), 200)
    json_of(client.post("/v1/services", json={"name": "Third"},
                        headers=service_headers(TENANT_ID)), 201)


def test_a_downgrade_is_refused_while_usage_exceeds_the_lower_tier(
        client: Any, tenants: Context) -> None:
    for tenant in (TENANT_ID, OTHER_ID):
        json_of(client.patch(f"/internal/v1/tenants/{tenant}", json={"tier": "growth"},
                             headers=service_headers()), 200)
    add_services(client, 12)
    # The operator's path and the merchant's path refuse it alike, with the numbers.
    for refused in (
        client.patch(f"/internal/v1/tenants/{TENANT_ID}", json={"tier": "starter"},
                     headers=service_headers()),
        client.patch("/v1/subscription", json={"tier": "starter"}, headers=merchant_headers()),
    ):
        body = json_of(refused, 422)
        assert "12 services (the starter tier allows 10)" in body["description"], body
        assert body["errors"] == {"services": ["12 used, 10 allowed"]}
    assert json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)["tier"] == \
        "growth"
    # The other tenant, with nothing, goes down; so does ours once the tier holds its usage.
    json_of(client.patch(f"/internal/v1/tenants/{OTHER_ID}", json={"tier": "starter"},
                         headers=service_headers()), 200)
    json_of(client.patch(f"{TIERS_URL}/starter", json={"max_services": 12},
                         headers=service_headers()), 200)
    down = json_of(client.patch("/v1/subscription", json={"tier": "starter"},
                                headers=merchant_headers()), 200)
    assert down["tier"] == "starter" and down["price_minor"] == 150_000
    tenant = json_of(client.get(f"/internal/v1/tenants/{TENANT_ID}",
                                headers=service_headers()), 200)
    assert tenant["tier"] == "starter"


def test_tests_start_from_the_seeded_tiers(tenants: Context) -> None:
    """The previous tests changed and added tiers: each test starts from the seed again."""
    with tenants.db.transaction() as session:
        assert load_tiers(session) == DEFAULT_TIERS


def test_a_downgrade_to_a_tier_without_payments_waits_for_an_empty_wallet(
        client: Any, tenants: Context) -> None:
    """Starter does not take payments for the merchant: moving there from growth is refused
    while the wallet holds money (available or held), and allowed once it is paid out."""
    url = f"/internal/v1/tenants/{TENANT_ID}"
    assert client.patch(url, json={"tier": "growth"}, headers=service_headers()).status_code == 200
    with tenants.db.transaction() as session:
        post_transaction(session, TENANT_ID, PAYMENT,
                         payment_legs(TENANT_ID, "KES", split_fee(150_000, 200)), "KES")
    refused = client.patch(url, json={"tier": "starter"}, headers=service_headers())
    assert refused.status_code == 422, refused.get_json()
    assert "KES 1,470.00" in refused.get_json()["description"]  # 1,500 less the 2 % fee
    held = tenant_account_key(TENANT_ID, TENANT_HELD, "KES")
    with tenants.db.transaction() as session:  # a withdrawal requested: the money is held
        post_transaction(session, TENANT_ID, WITHDRAWAL_HOLD, move_legs(
            tenant_account_key(TENANT_ID, TENANT_WALLET, "KES"), held, 147_000), "KES")
    still = client.patch(url, json={"tier": "starter"}, headers=service_headers())
    assert still.status_code == 422  # held money counts too
    with tenants.db.transaction() as session:  # paid out: the wallet is empty again
        post_transaction(session, TENANT_ID, PAYOUT, move_legs(
            held, platform_account_key(EXTERNAL_PAYOUTS, "KES"), 147_000), "KES")
    moved = client.patch(url, json={"tier": "starter"}, headers=service_headers())
    assert moved.status_code == 200, moved.get_json()
