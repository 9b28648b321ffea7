"""A tenant's subscription: a trial of its tier's days, the billing phone (encrypted), discount
codes (expiry, maximum redemptions), and the invoices of due periods with their lines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from backend.models import Subscription, Tenant
from backend.services.billing.renewals import run_billing
from backend.wiring import Context
from tests.backend.conftest import OTHER_ID, OTHER_KEY, TENANT_ID, merchant_headers, service_headers
from tests.backend.test_billing_tiers import json_of

CODES_URL = "/v1/platform/discount-codes"


def period_end(ctx: Context, tenant_id: str = TENANT_ID) -> Any:
    with ctx.db.transaction() as session:
        subscription = session.query(Subscription).filter_by(tenant_id=tenant_id).one()
        return subscription.current_period_end


def test_a_new_tenant_is_on_a_trial_of_its_tiers_days(client: Any, tenants: Context) -> None:
    json_of(client.patch("/v1/platform/tiers/growth", json={"trial_days": 30},
                         headers=service_headers()), 200)
    json_of(client.patch(f"/internal/v1/tenants/{OTHER_ID}", json={"tier": "growth"},
                         headers=service_headers()), 200)
    mine = json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)
    other = json_of(client.get("/v1/subscription", headers=merchant_headers(OTHER_ID, OTHER_KEY)),
                    200)
    with tenants.db.transaction() as session:
        created = {t.id: t.created_at for t in session.query(Tenant)}
    assert mine["status"] == "trialing" and mine["cycle"] == "monthly"
    assert mine["tier"] == "starter" and mine["price_minor"] == 150_000
    assert mine["trial_ends_at"] == mine["next_renewal_at"] == mine["current_period_end"]
    assert period_end(tenants) == created[TENANT_ID] + timedelta(days=14)
    assert other["tier"] == "growth" and other["price_minor"] == 500_000
    assert period_end(tenants, OTHER_ID) == created[OTHER_ID] + timedelta(days=30)
    yearly = json_of(client.patch("/v1/subscription", json={"cycle": "yearly"},
                                  headers=merchant_headers()), 200)
    assert yearly["price_minor"] == 1_500_000


def test_the_billing_phone_is_encrypted_and_shown_masked(client: Any, tenants: Context) -> None:
    changed = json_of(client.patch("/v1/subscription", json={"billing_phone": "0712 345 678"},
                                   headers=merchant_headers()), 200)
    assert changed["billing_phone"] == "+254712***678"
    with tenants.db.engine.connect() as connection:
        stored = connection.execute(text("SELECT billing_phone_encrypted FROM tenants WHERE id = "
                                         ":id"), {"id": TENANT_ID}).scalar()
    assert stored and "712345678" not in stored
    assert tenants.crypto.decrypt(stored) == "+254712345678"
    refused = client.patch("/v1/subscription", json={"billing_phone": "+1 202 555 0100"},
                           headers=merchant_headers())
    assert refused.status_code == 422 and "billing_phone" in refused.get_json()["errors"]
    card = client.patch("/v1/subscription", json={"payment_method": "card"},
                        headers=merchant_headers())
    assert card.status_code == 422 and "No card is saved" in card.get_json()["description"]
    assert client.patch("/v1/subscription", json={"cycle": "weekly"},
                        headers=merchant_headers()).status_code == 422


def test_discount_codes_expire_and_run_out(client: Any, tenants: Context) -> None:
    once = {"code": "welcome50", "kind": "percent", "value": 50, "cycles": 2,
            "max_redemptions": 1}
    made = json_of(client.post(CODES_URL, json=once, headers=service_headers()), 201)
    assert made["code"] == "WELCOME50" and made["redemptions"] == 0
    assert client.post(CODES_URL, json=once, headers=service_headers()).status_code == 409
    assert client.post(CODES_URL, json={**once, "code": "BIG", "value": 150},
                       headers=service_headers()).status_code == 422
    assert client.post(CODES_URL, json=once, headers=merchant_headers()).status_code == 403
    json_of(client.post(CODES_URL, json={"code": "OLD", "kind": "fixed", "value": 10_000,
                                         "expires_at": "2020-01-01T00:00:00+00:00"},
                        headers=service_headers()), 201)
    applied = json_of(client.patch("/v1/subscription", json={"discount_code": "welcome50"},
                                   headers=merchant_headers()), 200)
    assert (applied["discount_code"], applied["discount_cycles_left"]) == ("WELCOME50", 2)
    again = client.patch("/v1/subscription", json={"discount_code": "OLD"},
                         headers=merchant_headers())
    assert again.status_code == 409  # one discount at a time
    other = merchant_headers(OTHER_ID, OTHER_KEY)
    used_up = client.patch("/v1/subscription", json={"discount_code": "WELCOME50"}, headers=other)
    assert used_up.status_code == 422
    assert "reached its 1 redemptions" in used_up.get_json()["description"]
    expired = client.patch("/v1/subscription", json={"discount_code": "old"}, headers=other)
    assert expired.status_code == 422 and "expired" in expired.get_json()["description"]
    unknown = client.patch("/v1/subscription", json={"discount_code": "NOPE"}, headers=other)
    assert unknown.status_code == 422
    listed = json_of(client.get(CODES_URL, headers=service_headers()), 200)
    assert {c["code"]: c["redemptions"] for c in listed} == {"WELCOME50": 1, "OLD": 0}


def test_a_due_period_gets_one_invoice_with_its_discount(client: Any, tenants: Context) -> None:
    json_of(client.post(CODES_URL, json={"code": "HALF", "kind": "percent", "value": 50,
                                         "cycles": 1}, headers=service_headers()), 201)
    json_of(client.patch("/v1/subscription", json={"discount_code": "HALF"},
                         headers=merchant_headers()), 200)
    due = period_end(tenants) + timedelta(minutes=1)
    # No billing phone: the charge fails at once (a failed attempt, retried the next day).
    first = run_billing(tenants, now=due)
    tenants.jobs.drain(timeout=30)
    assert first.invoices_issued == 2 and first.charges_queued == 2  # both tenants' trials end
    second = run_billing(tenants, now=due)
    assert second.invoices_issued == 0 and second.charges_queued == 0
    page = json_of(client.get("/v1/subscription/invoices", headers=merchant_headers()), 200)
    assert page["count"] == 1
    invoice = page["results"][0]
    assert invoice["number"].startswith("INV-")
    assert invoice["lines"] == [
        {"description": "starter plan, monthly", "amount_minor": 150_000},
        {"description": "Discount", "amount_minor": -75_000}]
    assert (invoice["subtotal_minor"], invoice["discount_minor"], invoice["tax_minor"],
            invoice["total_minor"]) == (150_000, 75_000, 0, 75_000)
    assert invoice["status"] == "open" and invoice["failed_attempts"] == 1
    assert invoice["period_start"] == period_end(tenants).isoformat(timespec="microseconds")
    other = json_of(client.get("/v1/subscription/invoices",
                               headers=merchant_headers(OTHER_ID, OTHER_KEY)), 200)
    numbers = {invoice["number"], other["results"][0]["number"]}
    assert numbers == {"INV-000001", "INV-000002"}  # one sequence for the platform
    subscription = json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)
    assert subscription["status"] == "past_due" and subscription["discount_cycles_left"] == 0
    reminders = json_of(client.get("/v1/subscription/reminders", headers=merchant_headers()),
                        200)["results"]
    assert [r["kind"] for r in reminders] == ["failed"]
    assert "no billing phone" in reminders[0]["body"]
    assert reminders[0]["status"] == "unsent"


def test_tax_is_added_when_configured(make_app: Any) -> None:
    from tests.backend.conftest import add_tenant, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY

    app = make_app(billing_tax_basis_points=1_600)
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    client = app.test_client()
    json_of(client.get("/v1/subscription", headers=merchant_headers()), 200)
    run_billing(ctx, now=period_end(ctx) + timedelta(seconds=1))
    ctx.jobs.drain(timeout=30)
    invoice = json_of(client.get("/v1/subscription/invoices", headers=merchant_headers()),
                      200)["results"][0]
    assert (invoice["tax_minor"], invoice["total_minor"]) == (24_000, 174_000)
    assert invoice["lines"][-1] == {"description": "Tax", "amount_minor": 24_000}


def test_a_cancelled_subscription_ends_with_its_period(client: Any, tenants: Context) -> None:
    cancelled = json_of(client.patch("/v1/subscription", json={"cancelled": True},
                                     headers=merchant_headers()), 200)
    assert cancelled["status"] == "cancelled" and cancelled["next_renewal_at"] is None
    end = period_end(tenants)
    before = run_billing(tenants, now=end - timedelta(minutes=1))
    tenants.jobs.drain(timeout=30)
    assert before.invoices_issued == 0
    after = run_billing(tenants, now=end + timedelta(minutes=1))
    tenants.jobs.drain(timeout=30)
    assert after.invoices_issued == 1  # the other tenant's trial ended too; ours is not renewed
    again = run_billing(tenants, now=end + timedelta(minutes=2))
    tenants.jobs.drain(timeout=30)
    assert again.reminders == 0  # ended once
    settings = json_of(client.get(f"/internal/v1/tenants/{TENANT_ID}",
                                  headers=service_headers()), 200)
    assert settings["status"] == "suspended"
    kinds = [r["kind"] for r in json_of(client.get(
        "/v1/subscription/reminders", headers=merchant_headers()), 200)["results"]]
    assert kinds == ["ended"]
    assert json_of(client.get("/v1/subscription/invoices", headers=merchant_headers()),
                   200)["count"] == 0
    # Turned back on: a new period starts now, with its invoice to pay.
    resumed = json_of(client.patch("/v1/subscription", json={"cancelled": False},
                                   headers=merchant_headers()), 200)
    assert resumed["status"] == "suspended"
    invoices = json_of(client.get("/v1/subscription/invoices", headers=merchant_headers()), 200)
    assert invoices["count"] == 1 and invoices["results"][0]["status"] == "open"
    assert invoices["results"][0]["period_start"] == resumed["current_period_end"]


def test_tenants_from_before_billing_start_a_trial_at_the_upgrade(tmp_path: Any) -> None:
    from backend.migrate import upgrade
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0014")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO tenants (id, name, whatsapp_number, twilio_account_sid, "
                "twilio_auth_token_encrypted, sandbox, primary_language, currency, timezone, "
                "status, tier, business_hours, features, created_at) VALUES ('old', 'Old', "
                "'+254700000999', 'AC1', 'x', 1, 'en', 'KES', 'Africa/Nairobi', 'active', "
                "'growth', '{}', '{}', '2020-01-01 00:00:00')"))
        upgrade(url)
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT tier, status, current_period_end, trial_ends_at FROM subscriptions "
                "WHERE tenant_id = 'old'")).one()
            tiers = connection.execute(text("SELECT count(*) FROM tiers")).scalar()
        assert row[0:2] == ("growth", "trialing") and row[2] == row[3]
        assert str(row[2]) > "2026-01-01" and tiers == 3  # 14 days from now, not from 2020
    finally:
        engine.dispose()
