"""Card renewals against the Paystack and Stripe simulators over HTTP: a card saved on each
provider's hosted page (its reusable token encrypted), the renewal charged off-session and
paid once (the synchronous answer and the webhook, duplicated, settle it once), a billing run
twice or two at once charge once, a declining card retried 1, 3 and 7 days after the renewal
then suspended, lifted by paying with a new card, and a worker killed before or after its
provider call never charging twice. After a card is saved a job refunds Paystack's card check
once (POST /refund; a lost answer, a job run again or two at once never refund twice) and reads
Stripe's card label from the PaymentMethod; the owner removes the card (M-Pesa again; 409
while a card charge is in flight)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, text, update

from backend.models import AuditLog, BillingCard, BillingCharge, Invoice, Tenant
from backend.providers import paystack
from backend.providers.paystack import signature as paystack_signature
from backend.sandbox.cards import DECLINING_CARDS
from backend.seed.payments import seed_billing_webhooks
from backend.services.billing import cards, renewals
from backend.services.billing.renewals import run_billing
from backend.services.billing.subscriptions import change_subscription, get_subscription
from backend.wiring import Context
from tests.backend.conftest import (
    OTHER_ID, OTHER_KEY, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, TENANT_ID, TENANT_KEY,
    TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, add_tenant, merchant_headers)
from tests.backend.payment_helpers import at_once, scalar, settle_jobs, wait_for
from tests.backend.test_billing_tiers import json_of

EMAIL = "owner@demo-shop.example"
PROVIDERS = ("paystack", "stripe")


@pytest.fixture
def billing(live_server: Any) -> tuple[Any, Context]:
    """A live backend (its own card simulators, the platform's webhooks set up in them as the
    seed does); only our tenant renews."""
    server = live_server()
    ctx: Context = server.app.extensions["backend"]
    ctx.jobs._intervals = (0.05, 0.05, 0.05)  # type: ignore[attr-defined]  # quick retries
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    add_tenant(ctx, OTHER_ID, OTHER_NUMBER, OTHER_SID, OTHER_TOKEN, OTHER_KEY)
    change_subscription(ctx, TENANT_ID, {"billing_phone": "+254712345678"})
    change_subscription(ctx, OTHER_ID, {"cancelled": True})
    seed_billing_webhooks(ctx)
    return server.app.test_client(), ctx


def save_card(client: Any, provider: str, card: str | None = None,
              duplicates: int = 0) -> dict[str, Any]:
    """The owner starts a set-up, enters the card on the provider's page; the webhook saves
    it."""
    setup = json_of(client.post("/v1/subscription/payment-method", headers=merchant_headers(),
                                json={"method": "card", "provider": provider, "email": EMAIL}),
                    201)
    assert setup["status"] == "pending" and setup["url"].startswith("http")
    page = setup["url"] + "/pay" if provider == "paystack" else setup["url"]
    body: dict[str, Any] = {"outcome": "success", "duplicates": duplicates}
    if card:
        body["card"] = card
    paid = requests.post(page, json=body, timeout=10)
    assert paid.status_code == 200, paid.text
    return dict(wait_for(lambda: (found := json_of(client.get(
        f"/v1/subscription/payment-method/{setup['id']}", headers=merchant_headers()), 200))
        ["status"] == "active" and found["label"] and found))


def provider_charges(ctx: Context, provider: str) -> int:
    """Renewal charges the provider made (Paystack transactions of charge keys; Stripe
    PaymentIntents)."""
    if provider == "paystack":
        return int(scalar(ctx, "SELECT count(*) FROM sandbox_payment_records WHERE "
                               "provider = 'paystack-transaction' AND reference LIKE 'inv%'"))
    return int(scalar(ctx, "SELECT count(*) FROM sandbox_payment_records "
                           "WHERE provider = 'stripe-intent'"))


def renewal(ctx: Context) -> datetime:
    return get_subscription(ctx, TENANT_ID).current_period_end


def invoice(ctx: Context) -> Invoice:
    with ctx.db.transaction() as session:
        row = session.scalars(select(Invoice).where(Invoice.tenant_id == TENANT_ID)).one()
        session.expunge(row)
        return row


def charges(ctx: Context) -> list[tuple[int, str]]:
    with ctx.db.transaction() as session:
        return [(c.attempt, c.status) for c in session.scalars(
            select(BillingCharge).order_by(BillingCharge.attempt))]


def run(ctx: Context, now: datetime) -> renewals.RunReport:
    report = run_billing(ctx, now=now)
    settle_jobs(ctx)
    return report


def settled(ctx: Context, status: str = "paid") -> Invoice:
    return wait_for(lambda: (row := invoice(ctx)).status == status and row)


def resend(ctx: Context, provider: str, reference: str) -> list[int]:
    """The provider delivers again every webhook it sent about `reference`."""
    answer = requests.post(f"{ctx.settings.payments_sandbox_url}/{provider}/webhooks/"
                           f"{reference}/resend", timeout=20)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["statuses"])


def charge_reference(ctx: Context, provider: str) -> str:
    """What the provider's webhooks of the first charge are kept under."""
    with ctx.db.transaction() as session:
        charge = session.scalars(select(BillingCharge).order_by(BillingCharge.id)).first()
        assert charge is not None
        return charge.key if provider == "paystack" else str(charge.checkout_request_id)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_card_is_saved_through_the_provider_page_and_kept_encrypted(
        billing, provider: str) -> None:
    client, ctx = billing
    refused = client.patch("/v1/subscription", json={"payment_method": "card"},
                           headers=merchant_headers())
    assert refused.status_code == 422, refused.get_json()
    saved = save_card(client, provider, duplicates=2)  # the webhook delivered three times
    assert saved["label"] == ("visa **** 4081" if provider == "paystack" else "visa **** 4242")
    subscription = json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)
    assert subscription["payment_method"] == "card"
    assert subscription["card"] == f"{saved['label']} ({provider})"
    with ctx.db.transaction() as session:
        row = session.get(BillingCard, saved["id"])
        assert row is not None and row.token_encrypted
        token = json.loads(ctx.crypto.decrypt(row.token_encrypted))
    secret = token["authorization_code"] if provider == "paystack" else token["payment_method"]
    assert secret.startswith("AUTH_" if provider == "paystack" else "pm_")
    assert secret not in row.token_encrypted
    # A second card replaces the first; the first set-up's webhooks again change nothing.
    second = save_card(client, provider)
    with ctx.db.transaction() as session:
        statuses = {c.id: c.status for c in session.scalars(select(BillingCard))}
        reference = session.get(BillingCard, saved["id"]).reference  # type: ignore[union-attr]
    assert statuses == {saved["id"]: "replaced", second["id"]: "active"}
    kept = reference if provider == "paystack" else None
    if kept:
        assert set(resend(ctx, provider, kept)) == {200}
        with ctx.db.transaction() as session:
            assert session.get(BillingCard, saved["id"]).status == "replaced"  # type: ignore


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_renewal_is_charged_by_card_once_and_extends_the_period(
        billing, provider: str) -> None:
    client, ctx = billing
    save_card(client, provider)
    due = renewal(ctx)
    report = run(ctx, due + timedelta(minutes=5))
    assert (report.invoices_issued, report.charges_queued) == (1, 1)
    paid = settled(ctx)
    assert paid.total_minor == 150_000
    assert paid.paid_reference == (f"inv{paid.id}a0" if provider == "paystack"
                                   else charge_reference(ctx, provider))
    assert charges(ctx) == [(0, "paid")] and provider_charges(ctx, provider) == 1
    # The provider delivers its webhook again (twice more): applied once.
    reference = charge_reference(ctx, provider)
    wait_for(lambda: resend(ctx, provider, reference))
    assert set(resend(ctx, provider, reference)) == {200}
    again = run(ctx, due + timedelta(minutes=10))  # the run repeated: nothing more
    assert (again.invoices_issued, again.charges_queued) == (0, 0)
    assert charges(ctx) == [(0, "paid")] and provider_charges(ctx, provider) == 1
    assert invoice(ctx).paid_at == paid.paid_at
    subscription = get_subscription(ctx, TENANT_ID)
    assert subscription.status == "active" and subscription.current_period_start == due
    assert subscription.current_period_end == paid.period_end


def test_a_paystack_webhook_with_a_bad_signature_is_refused(billing) -> None:
    client, ctx = billing
    body = json.dumps({"event": "charge.success", "data": {"reference": "inv1a0"}}).encode()
    url = f"{ctx.settings.public_url}/webhooks/billing/paystack"
    forged = requests.post(url, data=body, timeout=5, headers={
        "x-paystack-signature": paystack_signature("sk_test_someone_else", body)})
    assert forged.status_code == 401
    stripe_forged = requests.post(f"{ctx.settings.public_url}/webhooks/billing/stripe",
                                  data=b"{}", timeout=5, headers={"Stripe-Signature": "t=1,v1=0"})
    assert stripe_forged.status_code == 400


def test_two_runs_at_once_charge_the_card_once(billing) -> None:
    client, ctx = billing
    save_card(client, "stripe")
    due = renewal(ctx) + timedelta(minutes=1)
    reports = at_once(lambda: run_billing(ctx, now=due))
    settle_jobs(ctx)
    settled(ctx)
    assert sorted(r.charges_queued for r in reports) == [0, 1]
    assert provider_charges(ctx, "stripe") == 1 and charges(ctx) == [(0, "paid")]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_declined_card_is_retried_then_suspends_and_paying_lifts_it(
        billing, provider: str) -> None:
    client, ctx = billing
    save_card(client, provider, card=DECLINING_CARDS[provider])
    due = renewal(ctx)
    run(ctx, due + timedelta(minutes=1))
    first = wait_for(lambda: (row := invoice(ctx)).failed_attempts == 1 and row)
    assert first.status == "open" and first.next_attempt_at == due + timedelta(days=1)
    assert get_subscription(ctx, TENANT_ID).status == "past_due"
    run(ctx, due + timedelta(hours=12))  # not yet time to retry
    assert charges(ctx) == [(0, "failed")]
    for attempt, day in ((2, 1), (3, 3), (4, 7)):
        run(ctx, due + timedelta(days=day, minutes=1))
        wait_for(lambda attempt=attempt: invoice(ctx).failed_attempts == attempt)
    settle_jobs(ctx)
    assert charges(ctx) == [(0, "failed"), (1, "failed"), (2, "failed"), (3, "failed")]
    with ctx.db.transaction() as session:
        failure = session.scalar(select(BillingCharge.failure).where(BillingCharge.attempt == 0))
        assert session.get(Tenant, TENANT_ID).status == "suspended"  # type: ignore[union-attr]
    assert failure and "insufficient" in failure.lower()
    assert provider_charges(ctx, provider) == 4 and invoice(ctx).next_attempt_at is None
    assert get_subscription(ctx, TENANT_ID).status == "suspended"
    reminders = json_of(client.get("/v1/subscription/reminders", query_string={
        "page_size": 200}, headers=merchant_headers()), 200)["results"]
    assert [r["kind"] for r in reversed(reminders)][-4:] == ["failed", "failed", "failed",
                                                             "suspended"]
    run(ctx, due + timedelta(days=30))  # suspended: no more charges
    assert provider_charges(ctx, provider) == 4
    # The owner saves a good card and pays the open invoice: the suspension is lifted.
    save_card(client, provider)
    json_of(client.post(f"/v1/subscription/invoices/{first.id}/pay",
                        headers=merchant_headers()), 202)
    settle_jobs(ctx)
    settled(ctx)
    with ctx.db.transaction() as session:
        assert session.get(Tenant, TENANT_ID).status == "active"  # type: ignore[union-attr]
    assert get_subscription(ctx, TENANT_ID).status == "active"
    assert provider_charges(ctx, provider) == 5


def _hold_charge_jobs(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    queued: list[int] = []
    real_enqueue = ctx.jobs.enqueue

    def enqueue(job: Any, *args: Any) -> None:
        if job.path.endswith("charge_invoice"):
            queued.append(args[0])
            return None
        return real_enqueue(job, *args)

    monkeypatch.setattr(ctx.jobs, "enqueue", enqueue)
    return queued


def _die(*_: Any) -> None:
    raise SystemExit("worker killed")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_worker_killed_after_the_card_call_never_charges_again(
        billing, provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    save_card(client, provider)
    queued = _hold_charge_jobs(ctx, monkeypatch)
    due = renewal(ctx)  # (the webhook may move the renewal on at any moment from the call)
    run_billing(ctx, now=due + timedelta(minutes=1))
    assert len(queued) == 1
    monkeypatch.setattr(renewals, "_record_card_result", _die)  # charged, answer lost
    with pytest.raises(SystemExit):
        renewals.charge_invoice(ctx, queued[0])
    monkeypatch.undo()
    # RQ runs the job again and the scheduler runs again: neither charges a second time; the
    # provider's webhook pays the invoice.
    assert renewals.charge_invoice(ctx, queued[0]) == "skipped"
    run_billing(ctx, now=due + timedelta(minutes=2))
    settle_jobs(ctx)
    settled(ctx)
    assert provider_charges(ctx, provider) == 1 and charges(ctx) == [(0, "paid")]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_worker_killed_before_the_card_call_is_resolved_with_one_charge(
        billing, provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    save_card(client, provider)
    queued = _hold_charge_jobs(ctx, monkeypatch)
    due = renewal(ctx)
    run_billing(ctx, now=due + timedelta(minutes=1))
    monkeypatch.setattr(cards, "call_provider", _die)  # claimed, killed before the call
    with pytest.raises(SystemExit):
        renewals.charge_invoice(ctx, queued[0])
    monkeypatch.undo()
    assert renewals.charge_invoice(ctx, queued[0]) == "skipped"
    report = run(ctx, due + timedelta(minutes=2))
    assert report.charges_expired == 0 and charges(ctx) == [(0, "sending")]
    with ctx.db.transaction() as session:  # long past: the charge is looked up
        session.execute(update(BillingCharge).values(
            updated_at=datetime.now(due.tzinfo) - timedelta(hours=1)))
    report = run(ctx, due + timedelta(minutes=3))
    assert report.charges_expired == 1
    if provider == "paystack":  # Paystack never saw the reference: a failed attempt, retried
        assert charges(ctx) == [(0, "failed")] and provider_charges(ctx, provider) == 0
        run(ctx, due + timedelta(days=1, minutes=1))
        settled(ctx)
        assert charges(ctx) == [(0, "failed"), (1, "paid")]
    else:  # Stripe: the same idempotency key charges now, once
        settled(ctx)
        assert charges(ctx) == [(0, "paid")]
    assert provider_charges(ctx, provider) == 1


def sandbox_record(ctx: Context, provider: str, reference: str) -> dict[str, Any]:
    with ctx.db.engine.connect() as connection:
        data = connection.execute(text(
            "SELECT data FROM sandbox_payment_records WHERE provider = :p AND reference = :r"),
            {"p": provider, "r": reference}).scalar()
    return dict(json.loads(data) if isinstance(data, str) else data or {})


def card_row(ctx: Context, card_id: int) -> BillingCard:
    with ctx.db.transaction() as session:
        row = session.get(BillingCard, card_id)
        assert row is not None
        session.expunge(row)
        return row


def test_the_paystack_card_check_is_refunded_once(billing) -> None:
    client, ctx = billing
    saved = save_card(client, "paystack")
    refunded = wait_for(lambda: (row := card_row(ctx, saved["id"])).check_refund == "refunded"
                        and row)
    assert refunded.check_refund_id and refunded.check_refunded_at is not None
    check = sandbox_record(ctx, "paystack-transaction", refunded.reference)
    assert check["status"] == "success"
    assert check["amount"] == ctx.settings.billing_card_check_minor == check["refunded"]
    assert [r["id"] for r in check["refunds"]] == [int(refunded.check_refund_id)]
    # The job run again: nothing to do.
    assert cards.finish_card_setup(ctx, saved["id"]) == "skipped"
    # The refund made but its answer lost (the worker killed before recording it): the rerun
    # is refused by Paystack as fully reversed and recorded as refunded, with no second refund.
    with ctx.db.transaction() as session:
        session.execute(update(BillingCard).values(check_refund="pending", check_refund_id=None))
    assert cards.finish_card_setup(ctx, saved["id"]) == "refunded"
    assert card_row(ctx, saved["id"]).check_refund == "refunded"
    assert len(sandbox_record(ctx, "paystack-transaction", refunded.reference)["refunds"]) == 1
    # Two jobs at once: one refund at Paystack, recorded once.
    second = save_card(client, "paystack")
    wait_for(lambda: card_row(ctx, second["id"]).check_refund == "refunded")
    with ctx.db.transaction() as session:
        session.execute(update(BillingCard).where(BillingCard.id == second["id"])
                        .values(check_refund="pending"))
    barrier, outcomes = threading.Barrier(2), []

    def one_job() -> None:
        barrier.wait()
        outcomes.append(cards.finish_card_setup(ctx, second["id"]))

    threads = [threading.Thread(target=one_job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["duplicate", "refunded"]
    reference = card_row(ctx, second["id"]).reference
    assert len(sandbox_record(ctx, "paystack-transaction", reference)["refunds"]) == 1


def test_a_refund_paystack_does_not_answer_is_retried_then_recorded_failed(
        billing, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    calls: list[str] = []

    def unreachable(self: Any, transaction: str, **_: Any) -> Any:
        calls.append(transaction)
        raise paystack.PaystackError("Paystack unreachable: timed out")

    monkeypatch.setattr(paystack.PaystackClient, "refund", unreachable)
    monkeypatch.setattr(ctx.jobs, "enqueue", lambda *_: None)  # the jobs are run by hand here
    saved = save_card(client, "paystack")
    with pytest.raises(paystack.PaystackError):  # retried by the queue
        cards.finish_card_setup(ctx, saved["id"], final_attempt=False)
    assert card_row(ctx, saved["id"]).check_refund == "pending"
    assert cards.finish_card_setup(ctx, saved["id"], final_attempt=True) == "failed"
    row = card_row(ctx, saved["id"])
    assert (row.check_refund, row.check_refunded_at) == ("failed", None)
    assert len(calls) == 2 and cards.finish_card_setup(ctx, saved["id"]) == "skipped"


def test_a_refund_whose_job_was_lost_is_queued_again_by_the_billing_run(
        billing, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    lost: list[int] = []
    real_enqueue = ctx.jobs.enqueue

    def enqueue(job: Any, *args: Any) -> None:
        if job.path.endswith("finish_card_setup"):
            lost.append(args[0])  # Redis emptied: the job never runs
            return None
        return real_enqueue(job, *args)

    monkeypatch.setattr(ctx.jobs, "enqueue", enqueue)
    saved = save_card(client, "paystack")
    assert lost == [saved["id"]] and card_row(ctx, saved["id"]).check_refund == "pending"
    saved_at = card_row(ctx, saved["id"]).updated_at
    run_billing(ctx, now=saved_at + timedelta(minutes=30))  # within the grace: not yet
    assert lost == [saved["id"]]
    monkeypatch.undo()
    run(ctx, saved_at + timedelta(hours=2))
    row = wait_for(lambda: (found := card_row(ctx, saved["id"])).check_refund == "refunded"
                   and found)
    assert len(sandbox_record(ctx, "paystack-transaction", row.reference)["refunds"]) == 1


def test_the_stripe_card_label_is_read_from_the_payment_method(billing) -> None:
    client, ctx = billing
    saved = save_card(client, "stripe", card=DECLINING_CARDS["stripe"])
    assert saved["label"] == "visa **** 9995"
    row = card_row(ctx, saved["id"])
    assert row.check_refund is None  # Stripe charged nothing to save it
    # The setup_intent.succeeded event names the PaymentMethod only, as Stripe's does.
    with ctx.db.engine.connect() as connection:
        sent = [json.loads(json.loads(data)["deliveries"][0]["body"]
                           if isinstance(data, str) else data["deliveries"][0]["body"])
                for data in connection.execute(text(
                    "SELECT data FROM sandbox_payment_records WHERE provider = 'webhook-sent' "
                    "AND reference LIKE 'seti_%'")).scalars()]
    assert [e["type"] for e in sent] == ["setup_intent.succeeded"]
    assert "payment_method_details" not in sent[0]["data"]["object"]
    assert sent[0]["data"]["object"]["payment_method"].startswith("pm_")
    assert cards.finish_card_setup(ctx, saved["id"]) == "skipped"  # labelled already
    subscription = json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)
    assert subscription["card"] == "visa **** 9995 (stripe)"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_owner_removes_the_card_and_renewals_fall_back_to_mpesa(
        billing, provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = billing
    url = "/v1/subscription/payment-method"
    assert client.delete(url, headers=merchant_headers()).status_code == 404
    saved = save_card(client, provider)
    # A card charge in flight: the card stays until it is settled.
    queued = _hold_charge_jobs(ctx, monkeypatch)
    due = renewal(ctx)
    run_billing(ctx, now=due + timedelta(minutes=1))
    assert len(queued) == 1
    busy = client.delete(url, headers=merchant_headers())
    assert busy.status_code == 409 and "in progress" in busy.get_json()["description"]
    monkeypatch.undo()
    renewals.charge_invoice(ctx, queued[0])  # the card charged (its webhook may settle it first)
    settle_jobs(ctx)
    settled(ctx)
    wait_for(lambda: charges(ctx) == [(0, "paid")])
    removed = json_of(client.delete(url, headers=merchant_headers()), 200)
    assert (removed["payment_method"], removed["card"]) == ("mpesa", None)
    row = card_row(ctx, saved["id"])
    assert (row.status, row.token_encrypted) == ("removed", None)
    assert client.delete(url, headers=merchant_headers()).status_code == 404
    again = client.patch("/v1/subscription", json={"payment_method": "card"},
                         headers=merchant_headers())
    assert again.status_code == 422  # no card any more
    with ctx.db.transaction() as session:
        record = session.scalars(select(AuditLog).where(
            AuditLog.action == "subscription.card_remove")).one()
        assert (record.tenant_id, record.target_id) == (TENANT_ID, str(saved["id"]))
        assert record.after == {"card": None, "payment_method": "mpesa"}
    # The next renewal is an M-Pesa request to the billing phone.
    report = run(ctx, renewal(ctx) + timedelta(minutes=1))
    assert report.charges_queued == 1
    with ctx.db.transaction() as session:
        methods = [c.method for c in session.scalars(select(BillingCharge)
                                                     .order_by(BillingCharge.id))]
    assert methods == ["card", "mpesa"]
