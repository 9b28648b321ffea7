"""The billing run against the Daraja simulator over HTTP: a renewal charged by STK push and
paid by its callback; failures retried 1, 3 and 7 days after the renewal with reminders, then
suspension, lifted by payment; never charged twice (two runs at once, duplicated and
out-of-order callbacks, a worker killed between the push and its record)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from backend.domain.billing import add_cycle
from backend.models import BillingCharge, Invoice, Tenant
from backend.services.billing import renewals
from backend.services.billing.renewals import billing_token, run_billing
from backend.services.billing.subscriptions import change_subscription, get_subscription
from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_ID, TENANT_KEY,
    TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, add_tenant, merchant_headers)
from tests.backend.payment_helpers import at_once, scalar, settle_jobs, wait_for
from tests.backend.test_billing_tiers import json_of

OWNER = "+254712345678"
FAILING_OWNER = "+254712001111"  # the simulator declines STK pushes to numbers ending 001111


@pytest.fixture
def billing(live_server: Any) -> tuple[Any, Context]:
    """A live backend (its own Daraja and Twilio simulators); the reminders go from the
    platform's own number (the simulator's platform account in sandbox mode)."""
    server = live_server()
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]  # quick retries
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    change_subscription(ctx, TENANT_ID, {"billing_phone": OWNER})
    change_subscription(ctx, OTHER_ID, {"cancelled": True})  # only our tenant renews
    return server.app.test_client(), ctx


def scenario(ctx: Context, phone: str, result: str, **extra: Any) -> None:
    response = requests.post(f"{ctx.settings.public_url}/sandbox/daraja/scenarios", timeout=5,
                             json={"phone": phone.lstrip("+"), "result": result, **extra},
                             headers=merchant_headers())
    assert response.status_code == 200, response.text


def renewal(ctx: Context) -> datetime:
    return get_subscription(ctx, TENANT_ID).current_period_end


def pushes(ctx: Context) -> int:
    return int(scalar(ctx, "SELECT count(*) FROM sandbox_payment_records "
                           "WHERE provider = 'daraja-stk'"))


def invoice(ctx: Context) -> Invoice:
    with ctx.db.transaction() as session:
        row = session.scalars(select(Invoice).where(Invoice.tenant_id == TENANT_ID)).one()
        session.expunge(row)
        return row


def charges(ctx: Context) -> list[tuple[int, str]]:
    with ctx.db.transaction() as session:
        return [(c.attempt, c.status) for c in session.scalars(
            select(BillingCharge).order_by(BillingCharge.attempt))]


def reminders(client: Any) -> list[dict[str, Any]]:
    page = json_of(client.get("/v1/subscription/reminders", query_string={"page_size": 200},
                              headers=merchant_headers()), 200)
    return list(reversed(page["results"]))


def run(ctx: Context, now: datetime) -> renewals.RunReport:
    report = run_billing(ctx, now=now)
    settle_jobs(ctx)
    return report


def settled(ctx: Context, status: str = "paid") -> Invoice:
    return wait_for(lambda: (row := invoice(ctx)).status == status and row)


def test_a_renewal_is_reminded_charged_once_and_extends_the_period(billing) -> None:
    client, ctx = billing
    scenario(ctx, OWNER, "0", duplicates=2)  # Daraja delivers the callback three times
    due = renewal(ctx)
    run(ctx, due - timedelta(days=6))  # within 7 days: the 7-day reminder
    run(ctx, due - timedelta(days=6))
    run(ctx, due - timedelta(hours=20))  # within a day: the 1-day reminder
    sent = reminders(client)
    assert [r["kind"] for r in sent] == ["renewal_7", "renewal_1"]
    assert all(r["status"] == "sent" for r in sent), sent
    assert "KES 1,500.00" in sent[0]["body"] and f"{due:%d %b %Y}" in sent[0]["body"]
    to_owner = scalar(ctx, "SELECT count(*) FROM sandbox_messages WHERE tenant_id IS NULL "
                           "AND to_hash = :h AND from_address = :f",
                      h=ctx.crypto.keyed_hash(OWNER),
                      f=f"whatsapp:{ctx.settings.platform_whatsapp_number}")
    assert to_owner == 2  # from the platform's number (no tenant's), to the owner's
    report = run(ctx, due + timedelta(minutes=5))
    assert (report.invoices_issued, report.charges_queued) == (1, 1)
    paid = settled(ctx)
    assert paid.total_minor == 150_000 and len(paid.paid_reference or "") == 10
    wait_for(lambda: scalar(ctx, "SELECT count(*) FROM billing_charges WHERE status = 'paid'"))
    again = run(ctx, due + timedelta(minutes=10))  # the run repeated: nothing more
    assert (again.invoices_issued, again.charges_queued) == (0, 0)
    assert pushes(ctx) == 1 and charges(ctx) == [(0, "paid")]
    subscription = json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)
    assert subscription["status"] == "active"
    assert subscription["current_period_start"] == due.isoformat(timespec="microseconds")
    month = add_cycle(due, "monthly")
    assert subscription["next_renewal_at"] == month.isoformat(timespec="microseconds")
    listed = json_of(client.get("/v1/subscription/invoices", headers=merchant_headers()), 200)
    assert listed["results"][0]["status"] == "paid"
    assert listed["results"][0]["paid_reference"] == paid.paid_reference
    # A failure callback for the same push arriving late changes nothing.
    with ctx.db.transaction() as session:
        checkout = session.scalar(select(BillingCharge.checkout_request_id))
    late = requests.post(
        f"{ctx.settings.public_url}/webhooks/mpesa/billing/{billing_token(ctx)}/inv{paid.id}a0",
        json={"Body": {"stkCallback": {"MerchantRequestID": "1", "CheckoutRequestID": checkout,
                                       "ResultCode": 1032, "ResultDesc": "Cancelled"}}},
        timeout=5)
    assert late.status_code == 200
    assert invoice(ctx).status == "paid" and invoice(ctx).failed_attempts == 0
    wrong = requests.post(f"{ctx.settings.public_url}/webhooks/mpesa/billing/nope/inv{paid.id}a0",
                          json={}, timeout=5)
    assert wrong.status_code == 404


def test_failures_are_retried_then_suspend_and_payment_lifts_it(billing) -> None:
    client, ctx = billing
    change_subscription(ctx, TENANT_ID, {"billing_phone": FAILING_OWNER})
    scenario(ctx, FAILING_OWNER, "1", duplicates=2)  # each failure is delivered three times
    due = renewal(ctx)
    run(ctx, due + timedelta(minutes=1))
    first = settled(ctx, "open")
    wait_for(lambda: invoice(ctx).failed_attempts == 1)
    assert invoice(ctx).next_attempt_at == due + timedelta(days=1)
    assert get_subscription(ctx, TENANT_ID).status == "past_due"
    run(ctx, due + timedelta(hours=12))  # not yet time to retry
    assert charges(ctx) == [(0, "failed")]
    for attempt, day in ((2, 1), (3, 3), (4, 7)):
        run(ctx, due + timedelta(days=day, minutes=1))
        wait_for(lambda attempt=attempt: invoice(ctx).failed_attempts == attempt)
    settle_jobs(ctx)
    assert charges(ctx) == [(0, "failed"), (1, "failed"), (2, "failed"), (3, "failed")]
    assert pushes(ctx) == 4 and invoice(ctx).next_attempt_at is None
    with ctx.db.transaction() as session:
        assert session.get(Tenant, TENANT_ID).status == "suspended"  # type: ignore[union-attr]
    assert get_subscription(ctx, TENANT_ID).status == "suspended"
    kinds = [r["kind"] for r in reminders(client)]
    assert kinds[-4:] == ["failed", "failed", "failed", "suspended"]
    run(ctx, due + timedelta(days=30))  # suspended: no more charges, no new invoice
    assert pushes(ctx) == 4
    # The owner pays the open invoice from another number: the suspension is lifted at once.
    json_of(client.patch("/v1/subscription", json={"billing_phone": OWNER},
                         headers=merchant_headers()), 200)
    paid = json_of(client.post(f"/v1/subscription/invoices/{first.id}/pay",
                               headers=merchant_headers()), 202)
    assert paid["status"] == "open"
    settle_jobs(ctx)
    settled(ctx)
    with ctx.db.transaction() as session:
        assert session.get(Tenant, TENANT_ID).status == "active"  # type: ignore[union-attr]
    assert get_subscription(ctx, TENANT_ID).status == "active"
    assert pushes(ctx) == 5


def test_two_runs_at_once_charge_once(billing) -> None:
    client, ctx = billing
    due = renewal(ctx) + timedelta(minutes=1)
    reports = at_once(lambda: run_billing(ctx, now=due))
    settle_jobs(ctx)
    settled(ctx)
    assert sorted(r.invoices_issued for r in reports) == [0, 1]
    assert sorted(r.charges_queued for r in reports) == [0, 1]
    assert pushes(ctx) == 1 and charges(ctx) == [(0, "paid")]


def test_two_claims_of_one_due_invoice_at_once_charge_once(
        billing, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    due = renewal(ctx) + timedelta(minutes=1)
    assert renewals._issue_invoices(ctx, due) == 1
    barrier = threading.Barrier(2)
    real_claim = renewals._claim

    def claim_together(*args: Any) -> Any:  # both runs saw the invoice due before claiming
        barrier.wait(timeout=30)
        return real_claim(*args)

    monkeypatch.setattr(renewals, "_claim", claim_together)
    claimed: list[list[int]] = []
    threads = [threading.Thread(target=lambda: claimed.append(renewals._claim_charges(ctx, due)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(len(ids) for ids in claimed) == [0, 1]
    for ids in claimed:
        for charge_id in ids:
            renewals.charge_invoice(ctx, charge_id)
    settled(ctx)
    assert pushes(ctx) == 1 and charges(ctx) == [(0, "paid")]


def test_a_worker_killed_between_the_push_and_its_record_never_pushes_again(
        billing, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    queued: list[int] = []
    real_enqueue = ctx.jobs.enqueue

    def enqueue(job: Any, *args: Any) -> None:
        if job.path.endswith("charge_invoice"):
            queued.append(args[0])
            return None
        return real_enqueue(job, *args)

    monkeypatch.setattr(ctx.jobs, "enqueue", enqueue)
    run_billing(ctx, now=renewal(ctx) + timedelta(minutes=1))
    assert len(queued) == 1

    def die(*_: Any) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr(renewals, "_record_checkout", die)
    with pytest.raises(SystemExit):
        renewals.charge_invoice(ctx, queued[0])
    monkeypatch.undo()
    # RQ runs the job again, and the scheduler runs again: neither pushes a second time.
    assert renewals.charge_invoice(ctx, queued[0]) == "skipped"
    run_billing(ctx, now=renewal(ctx) + timedelta(minutes=2))
    settle_jobs(ctx)
    # The callback of the push that was made (its key is in the URL) still pays the invoice.
    settled(ctx)
    assert pushes(ctx) == 1 and charges(ctx) == [(0, "paid")]
    with ctx.db.transaction() as session:
        assert session.scalar(select(BillingCharge.checkout_request_id))


def test_a_push_never_answered_fails_the_attempt_and_the_retry_comes(billing) -> None:
    client, ctx = billing
    scenario(ctx, OWNER, "timeout")  # the phone never answers: no callback at all
    due = renewal(ctx)
    run(ctx, due + timedelta(minutes=1))
    wait_for(lambda: charges(ctx) == [(0, "pending")])
    run(ctx, due + timedelta(minutes=2))
    assert charges(ctx) == [(0, "pending")]  # still within the STK expiry
    with ctx.db.transaction() as session:  # ... until it is long past
        session.execute(update(BillingCharge).values(
            updated_at=datetime.now(due.tzinfo) - timedelta(hours=1)))
    report = run(ctx, due + timedelta(minutes=3))
    assert report.charges_expired == 1 and charges(ctx) == [(0, "failed")]
    assert invoice(ctx).next_attempt_at == due + timedelta(days=1)
    scenario(ctx, OWNER, "0")
    run(ctx, due + timedelta(days=1, minutes=1))
    settled(ctx)
    assert charges(ctx) == [(0, "failed"), (1, "paid")] and pushes(ctx) == 2
