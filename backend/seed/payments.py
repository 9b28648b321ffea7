"""Demo payments: sandbox payment settings per demo tenant (M-Pesa on the Daraja simulator,
a card provider per tier), a second merchant user to approve withdrawals, succeeded payments
credited to the wallet for the seeded paid orders, and one withdrawal awaiting approval.
Idempotent."""

from __future__ import annotations

from sqlalchemy import select

from backend.wiring import Context
from backend.domain.orders import DELIVERED, FULFILLED, PAID, REFUNDED
from backend.domain.payments import MPESA_STK, SUCCEEDED, stk_amount_shillings
from backend.domain.permissions import BUILT_IN_ROLES
from backend.models import Order, Payment, Tenant, Withdrawal
from backend.providers.daraja import SANDBOX_PASSKEY, SANDBOX_SHORTCODE
from backend.sandbox.cards import configure_webhooks
from backend.services.billing.cards import card_setting, webhook_urls
from backend.services.platform.auth import issue_api_key
from backend.services.payments.settings import update_payment_settings
from backend.services.platform.tenants import update_settings
from backend.services.payments.wallets import credit_payment, get_wallet, request_withdrawal

# Demo-only credentials, valid only against the simulators.
CARD_PROVIDER = {"demo-shop": "paystack", "demo-duka": "stripe", "demo-salon": None}
PAYOUT_PHONE = "+254708374149"  # Daraja's sandbox test MSISDN
DEMO_WITHDRAWAL_MINOR = 50_000


def finance_api_key(tenant_id: str) -> str:
    """The demo tenant's second user: approves the withdrawals the first one requests."""
    return f"{tenant_id}-finance-api-key"


def seed_payments(ctx: Context, tenant_id: str, requester_key_id: int | None = None) -> None:
    provider = CARD_PROVIDER.get(tenant_id, "paystack")
    settings = {
        "mpesa_shortcode": SANDBOX_SHORTCODE, "mpesa_account_type": "paybill",
        "mpesa_passkey": SANDBOX_PASSKEY, "daraja_consumer_key": f"{tenant_id}-daraja-key",
        "daraja_consumer_secret": f"{tenant_id}-daraja-secret", "card_provider": provider,
        "merchant_payment_link": f"https://pay.{tenant_id}.example/checkout",
        "paystack_secret_key": f"sk_test_{tenant_id.replace('-', '_')}_paystack",
        "stripe_secret_key": f"sk_test_{tenant_id.replace('-', '_')}_stripe",
        "pesapal_consumer_key": f"{tenant_id}-pesapal-key",
        "pesapal_consumer_secret": f"{tenant_id}-pesapal-secret",
        "receipt_email": f"payments@{tenant_id}.example",
    }
    urls = update_payment_settings(ctx, tenant_id, settings).callback_urls
    configure_webhooks(ctx, "paystack", settings["paystack_secret_key"], urls["paystack"])
    secret = configure_webhooks(ctx, "stripe", settings["stripe_secret_key"], urls["stripe"])
    update_payment_settings(ctx, tenant_id, {"stripe_webhook_secret": secret})
    update_settings(ctx, tenant_id, {"features": {"card_payments": True, "mpesa_stk": True}})
    issue_api_key(ctx, tenant_id, finance_api_key(tenant_id), scopes=BUILT_IN_ROLES["finance"])
    _credit_paid_orders(ctx, tenant_id)
    if requester_key_id is not None:
        _pending_withdrawal(ctx, tenant_id, f"api_key:{requester_key_id}")


def seed_billing_webhooks(ctx: Context) -> None:
    """Sandbox only: the platform's own Paystack and Stripe accounts (subscription cards) send
    their events to /webhooks/billing/…, set up in the simulators as in each dashboard."""
    if not ctx.settings.sandbox:
        return
    urls = webhook_urls(ctx)
    configure_webhooks(ctx, "paystack", card_setting(ctx, "paystack_secret_key"),
                       urls["paystack"])
    configure_webhooks(ctx, "stripe", card_setting(ctx, "stripe_secret_key"), urls["stripe"],
                       card_setting(ctx, "stripe_webhook_secret"))


def _credit_paid_orders(ctx: Context, tenant_id: str) -> None:
    with ctx.db.transaction() as session:
        tier = session.get(Tenant, tenant_id).tier  # type: ignore[union-attr]
        paid = select(Order).where(
            Order.tenant_id == tenant_id, Order.status.in_((PAID, FULFILLED, DELIVERED, REFUNDED)),
            ~select(Payment.id).where(Payment.order_id == Order.id).exists(),
        ).order_by(Order.id)
        for order in session.scalars(paid).all():
            payment = Payment(
                tenant_id=tenant_id, order_id=order.id, customer_id=order.customer_id,
                method=MPESA_STK, provider="daraja", status=SUCCEEDED,
                amount_minor=stk_amount_shillings(order.total_minor) * 100,
                currency=order.currency, provider_reference=f"ws_CO_SEED{order.id:08d}",
                receipt=f"SEED{order.id:06d}", created_at=order.created_at)
            session.add(payment)
            session.flush()
            credit_payment(session, payment, tier)


def _pending_withdrawal(ctx: Context, tenant_id: str, requester: str) -> None:
    with ctx.db.transaction() as session:
        exists = session.scalar(select(Withdrawal.id).where(Withdrawal.tenant_id == tenant_id))
    if exists is None and get_wallet(ctx, tenant_id).available_minor >= DEMO_WITHDRAWAL_MINOR:
        request_withdrawal(ctx, tenant_id, DEMO_WITHDRAWAL_MINOR, PAYOUT_PHONE, requester)
