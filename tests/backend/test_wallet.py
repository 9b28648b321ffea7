"""The wallet: credits net of fees, withdrawals held at once, approval by another user, B2C
payouts through the simulator (paid, or failed and returned), filters and the audit trail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from backend.wiring import Context
from backend.models import Payment
from backend.seed.payments import finance_api_key
from backend.services.payments.payments import succeed_locked
from tests.backend.commerce_helpers import acting, json_of
from tests.backend.conftest import TENANT_ID, merchant_headers, service_headers
from tests.backend.payment_helpers import (
    configure_payments,
    make_payment,
    place_order,
    scalar,
    settle_jobs,
    wait_for,
)

PAYOUT_PHONE = "+254708374149"
FINANCE = merchant_headers(api_key=finance_api_key(TENANT_ID))


@pytest.fixture
def shop(live_server) -> Iterator[tuple[Any, Context]]:
    from tests.backend.conftest import (
        OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_KEY, TENANT_NUMBER,
        TENANT_SID, TENANT_TOKEN, add_tenant, free_port)

    server = live_server(rasa_url=f"http://127.0.0.1:{free_port()}")
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    configure_payments(ctx)
    yield server.app.test_client(), ctx
    settle_jobs(ctx)


def credit(client, ctx: Context, quantity: int = 2) -> int:
    """A paid order (KES 1,800 × quantity), credited as its payment would be."""
    order = place_order(client, ctx, quantity=quantity)
    payment_id = make_payment(ctx, order["id"], "daraja", f"ws_CO_{order['id']}")
    with ctx.db.transaction() as session:
        payment = session.get(Payment, payment_id, with_for_update=True)
        assert payment is not None
        assert succeed_locked(session, payment, None, None, f"R{order['id']}").result \
            == "succeeded"
    return payment_id


def withdraw(client, amount: int, headers: dict[str, str] | None = None,
             phone: str = PAYOUT_PHONE) -> Any:
    return client.post("/v1/wallet/withdrawals", json={"amount_minor": amount, "phone": phone},
                       headers=headers or merchant_headers())


def wallet(client) -> dict[str, Any]:
    return dict(json_of(client.get("/v1/wallet", headers=merchant_headers()), 200))


def test_withdrawal_held_approved_by_another_user_and_paid_out(shop) -> None:
    client, ctx = shop
    credit(client, ctx)  # 360,000 less 3 % = 349,200
    assert wallet(client)["available_minor"] == 349200
    assert withdraw(client, 9900).status_code == 400  # below the minimum
    assert withdraw(client, 100050).status_code == 400  # not whole shillings
    assert withdraw(client, 400000).status_code == 409  # more than available
    assert withdraw(client, 100000, phone="0202345678").status_code == 422
    assert withdraw(client, 100000, service_headers(TENANT_ID)).status_code == 401
    made = json_of(withdraw(client, 100000), 201)
    assert made["status"] == "pending_approval" and made["phone"] == PAYOUT_PHONE
    now = wallet(client)
    assert (now["available_minor"], now["held_minor"]) == (249200, 100000)
    approve = f"/v1/wallet/withdrawals/{made['id']}/approve"
    same_user = client.post(approve, headers=merchant_headers())
    assert same_user.status_code == 409 and "different user" in same_user.get_json()["description"]
    assert client.post(approve, headers=service_headers(TENANT_ID)).status_code == 401
    approved = json_of(client.post(approve, headers=FINANCE), 200)
    assert approved["status"] == "approved" and approved["approved_by"].startswith("api_key:")
    assert client.post(approve, headers=FINANCE).status_code == 409  # once
    queued = json_of(client.post("/internal/v1/payouts/process",
                                 headers=service_headers()), 202)
    assert queued["queued"] == [made["id"]]
    paid = wait_for(lambda: (w := client.get(f"/v1/wallet/withdrawals/{made['id']}",
                                             headers=merchant_headers()).get_json())["status"]
                    == "paid" and w)
    assert paid["provider_transaction_id"]
    now = wallet(client)
    assert (now["available_minor"], now["held_minor"], now["paid_out_minor"]) == (
        249200, 0, 100000)
    audit = json_of(client.get(f"/v1/wallet/withdrawals/{made['id']}/audit",
                               headers=merchant_headers()), 200)
    assert [e["action"] for e in audit["events"]] == [
        "withdrawal_requested", "withdrawal_approved", "payout_started", "payout_paid"]
    listed = json_of(client.get("/v1/wallet/transactions", headers=merchant_headers()), 200)
    assert [t["type"] for t in listed["results"]] == ["payout", "withdrawal_hold", "payment"]
    payment = listed["results"][2]
    assert (payment["amount_minor"], payment["fee_minor"]) == (349200, 10800)
    assert sum(e["amount_minor"] for e in payment["entries"]) == 0
    hold = listed["results"][1]
    assert hold["amount_minor"] == -100000 and hold["status"] == "paid"
    only = json_of(client.get("/v1/wallet/transactions?type=payment",
                              headers=merchant_headers()), 200)
    assert only["count"] == 1
    assert json_of(client.get("/v1/wallet/transactions?status=completed",
                              headers=merchant_headers()), 200)["count"] == 1
    future = json_of(client.get("/v1/wallet/transactions",
                                query_string={"from": "2999-01-01T00:00:00+00:00"},
                                headers=merchant_headers()), 200)
    assert future["count"] == 0
    assert client.get("/v1/wallet", headers=acting()).status_code == 401


def test_a_failed_payout_returns_the_funds(shop) -> None:
    client, ctx = shop
    credit(client, ctx)
    requests.post(f"{ctx.settings.public_url}/sandbox/daraja/scenarios", timeout=5,
                  headers=service_headers(), json={
        "phone": PAYOUT_PHONE.lstrip("+"), "result": "2001", "delay_ms": 0})
    made = json_of(withdraw(client, 200000), 201)
    json_of(client.post(f"/v1/wallet/withdrawals/{made['id']}/approve", headers=FINANCE), 200)
    client.post("/internal/v1/payouts/process", headers=service_headers())
    failed = wait_for(lambda: (w := client.get(f"/v1/wallet/withdrawals/{made['id']}",
                                               headers=merchant_headers()).get_json())["status"]
                      == "failed" and w)
    assert failed["failure_reason"]
    now = wallet(client)
    assert (now["available_minor"], now["held_minor"], now["paid_out_minor"]) == (349200, 0, 0)
    assert scalar(ctx, "SELECT count(*) FROM ledger_transactions WHERE kind = "
                       "'withdrawal_release'") == 1
    # Every transaction balances; every balance is the sum of its entries.
    assert scalar(ctx, "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries GROUP "
                       "BY transaction_id HAVING sum(amount_minor) <> 0) AS unbalanced") == 0


def test_concurrent_withdrawals_never_overdraw(shop) -> None:
    client, ctx = shop
    if ctx.db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    credit(client, ctx)  # 349,200 available
    statuses: list[int] = []
    app = client.application

    def one() -> None:
        statuses.append(withdraw(app.test_client(), 200000).status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    assert wallet(client)["available_minor"] == 149200
