"""Fee waivers (the platform fee on a credited payment drops to 0 while one is in force, and
comes back once it is revoked or over) and the monthly platform revenue read from the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.domain.ledger import (
    PAYMENT,
    TENANT_HELD,
    TENANT_WALLET,
    WITHDRAWAL_HOLD,
    move_legs,
    payment_legs,
    split_fee,
    tenant_account_key,
)
from sqlalchemy import select

from backend.models import Invoice, Subscription
from backend.models.base import utcnow
from backend.services.payments.wallets import post_transaction
from backend.wiring import Context
from tests.backend.commerce_helpers import json_of
from tests.backend.conftest import OTHER_ID, TENANT_ID, merchant_headers
from tests.backend.test_operator_tenants import OPERATOR
from tests.backend.test_wallet import credit, shop  # noqa: F401 — the live shop fixture

WAIVERS = f"/v1/platform/tenants/{TENANT_ID}/fee-waivers"


def last_payment_fee(client) -> tuple[int, int]:
    listed = json_of(client.get("/v1/wallet/transactions?type=payment",
                                headers=merchant_headers()), 200)
    latest = listed["results"][0]
    return latest["amount_minor"], latest["fee_minor"]


def test_a_waiver_makes_the_fee_zero_until_revoked(shop) -> None:  # noqa: F811
    client, ctx = shop
    credit(client, ctx, quantity=1)  # KES 1,800.00 at the starter tier's 3 %
    assert last_payment_fee(client) == (174600, 5400)
    assert client.post(WAIVERS, json={"reason": ""}, headers=OPERATOR).status_code == 422
    waiver = json_of(client.post(WAIVERS, json={"reason": "Launch partner, Q1"},
                                 headers=OPERATOR), 201)
    assert waiver["active"] is True and waiver["ends_at"] is None
    assert json_of(client.get(f"/v1/platform/tenants/{TENANT_ID}", headers=OPERATOR),
                   200)["usage"]["fee_basis_points"] == 0
    credit(client, ctx, quantity=1)
    assert last_payment_fee(client) == (180000, 0)  # the whole amount is the merchant's
    other = json_of(client.get(f"/v1/platform/tenants/{OTHER_ID}/fee-waivers",
                               headers=OPERATOR), 200)
    assert other["results"] == []  # one tenant's waiver is nobody else's
    revoke = f"{WAIVERS}/{waiver['id']}/revocation"
    revoked = json_of(client.post(revoke, json={"reason": "Partnership ended"},
                                  headers=OPERATOR), 200)
    assert revoked["active"] is False and revoked["revoke_reason"] == "Partnership ended"
    assert client.post(revoke, json={"reason": "again"}, headers=OPERATOR).status_code == 409
    credit(client, ctx, quantity=1)
    assert last_payment_fee(client) == (174600, 5400)
    assert client.post(f"/v1/platform/tenants/{OTHER_ID}/fee-waivers/{waiver['id']}/revocation",
                       json={"reason": "x"}, headers=OPERATOR).status_code == 404


def test_a_waiver_for_a_period(shop) -> None:  # noqa: F811
    client, ctx = shop
    now = utcnow()
    past = {"reason": "Last month's outage", "starts_at": (now - timedelta(days=30)).isoformat(),
            "ends_at": (now - timedelta(days=1)).isoformat()}
    ended = json_of(client.post(WAIVERS, json=past, headers=OPERATOR), 201)
    assert ended["active"] is False
    later = {"reason": "Next month", "starts_at": (now + timedelta(days=1)).isoformat()}
    assert json_of(client.post(WAIVERS, json=later, headers=OPERATOR), 201)["active"] is False
    credit(client, ctx, quantity=1)
    assert last_payment_fee(client) == (174600, 5400)  # neither is in force now
    backwards = {"reason": "x", "starts_at": now.isoformat(),
                 "ends_at": (now - timedelta(hours=1)).isoformat()}
    assert client.post(WAIVERS, json=backwards, headers=OPERATOR).status_code == 400
    naive = {"reason": "x", "starts_at": "2026-01-01T00:00:00"}
    assert client.post(WAIVERS, json=naive, headers=OPERATOR).status_code == 422
    current = {"reason": "This week", "starts_at": (now - timedelta(hours=1)).isoformat(),
               "ends_at": (now + timedelta(days=7)).isoformat()}
    json_of(client.post(WAIVERS, json=current, headers=OPERATOR), 201)
    credit(client, ctx, quantity=1)
    assert last_payment_fee(client) == (180000, 0)
    listed = json_of(client.get(WAIVERS, headers=OPERATOR), 200)["results"]
    assert [w["reason"] for w in listed] == ["This week", "Next month", "Last month's outage"]


def _ledger_row(ctx: Context, tenant_id: str, amount: int, bp: int, when: datetime,
                currency: str = "KES") -> None:
    with ctx.db.transaction() as session:
        transaction = post_transaction(session, tenant_id, PAYMENT,
                                       payment_legs(tenant_id, currency, split_fee(amount, bp)),
                                       currency)
        transaction.created_at = when


def _invoice(ctx: Context, n: int, total: int, tax: int, status: str,
             paid_at: datetime | None) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with ctx.db.transaction() as session:
        subscription = session.scalar(select(Subscription).where(
            Subscription.tenant_id == TENANT_ID))
        if subscription is None:
            subscription = Subscription(tenant_id=TENANT_ID, tier="starter", status="active",
                                        current_period_start=start,
                                        current_period_end=start + timedelta(days=30))
            session.add(subscription)
            session.flush()
        session.add(Invoice(tenant_id=TENANT_ID, subscription_id=subscription.id,
                            number=f"INV-T{n}", period_start=start + timedelta(days=n),
                            period_end=start + timedelta(days=n + 30), subtotal_minor=total - tax,
                            tax_minor=tax, total_minor=total, status=status, paid_at=paid_at))


def test_monthly_revenue_from_the_ledger_and_paid_invoices(client, tenants: Context) -> None:
    ctx = tenants
    _ledger_row(ctx, TENANT_ID, 100000, 300, datetime(2026, 1, 5, tzinfo=UTC))  # fee 3000
    _ledger_row(ctx, OTHER_ID, 250050, 200, datetime(2026, 1, 31, 23, 59, tzinfo=UTC))  # 5001
    _ledger_row(ctx, TENANT_ID, 1000, 300, datetime(2026, 2, 1, tzinfo=UTC))  # 30
    _ledger_row(ctx, OTHER_ID, 5000, 100, datetime(2026, 3, 10, tzinfo=UTC), "USD")  # 50
    _ledger_row(ctx, TENANT_ID, 999999, 300, datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    _ledger_row(ctx, TENANT_ID, 999999, 300, datetime(2027, 1, 1, tzinfo=UTC))
    _ledger_row(ctx, TENANT_ID, 70000, 0, datetime(2026, 2, 3, tzinfo=UTC))  # waived: no fee
    with ctx.db.transaction() as session:  # a withdrawal hold is not revenue
        hold = post_transaction(session, TENANT_ID, WITHDRAWAL_HOLD, move_legs(
            tenant_account_key(TENANT_ID, TENANT_WALLET, "KES"),
            tenant_account_key(TENANT_ID, TENANT_HELD, "KES"), 500), "KES")
        hold.created_at = datetime(2026, 2, 2, tzinfo=UTC)
    _invoice(ctx, 1, 150000, 24000, "paid", datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    _invoice(ctx, 2, 500000, 0, "paid", datetime(2026, 4, 1, tzinfo=UTC))
    _invoice(ctx, 3, 500000, 0, "open", None)  # not paid: not revenue
    _invoice(ctx, 4, 500000, 0, "paid", datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    report = json_of(client.get("/v1/platform/revenue?year=2026", headers=OPERATOR), 200)
    assert report["sources"] == ["transaction_fees", "subscriptions"]
    assert [(m["month"], m["currency"], m["transaction_fees_minor"], m["subscriptions_minor"],
             m["total_minor"]) for m in report["months"]] == [
        ("2026-01", "KES", 8001, 0, 8001),
        ("2026-02", "KES", 30, 126000, 126030),  # the invoice net of its tax
        ("2026-03", "USD", 50, 0, 50),
        ("2026-04", "KES", 0, 500000, 500000),
    ]
    assert json_of(client.get("/v1/platform/revenue?year=2024", headers=OPERATOR),
                   200)["months"] == []
    assert client.get("/v1/platform/revenue", headers=OPERATOR).status_code == 422
    assert client.get("/v1/platform/revenue?year=2026",
                      headers=merchant_headers()).status_code == 403
