"""A tenant's subscription: started as a trial of its tier's trial days, seen and changed by the
merchant; its invoices and the reminders sent about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.errors import Conflict, Unprocessable
from backend.domain.payments import kenyan_mobile, mask_phone
from backend.models import (
    BillingCard,
    BillingReminder,
    DiscountCode,
    Invoice,
    Subscription,
    Tenant,
)
from backend.models.base import utcnow
from backend.services.billing.discounts import redeem
from backend.services.billing.invoices import issue_invoice
from backend.services.platform.audit import record_audit
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.tenants import require_tenant
from backend.services.platform.tiers import change_tier, get_tier
from backend.wiring import Context

SUPPORTED_METHODS = ("mpesa", "card")


@dataclass(frozen=True)
class SubscriptionView:
    tenant_id: str
    tier: str
    cycle: str
    status: str
    payment_method: str
    billing_phone: str | None  # masked
    card: str | None  # the saved card: "visa **** 4081 (paystack)"
    trial_ends_at: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    next_renewal_at: datetime | None
    price_minor: int
    currency: str
    discount_code: str | None
    discount_cycles_left: int


@dataclass(frozen=True)
class InvoiceView:
    id: int
    number: str
    period_start: datetime
    period_end: datetime
    currency: str
    lines: list[dict[str, Any]]
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    status: str
    failed_attempts: int
    next_attempt_at: datetime | None
    paid_at: datetime | None
    paid_reference: str | None
    created_at: datetime


@dataclass(frozen=True)
class ReminderView:
    id: int
    kind: str
    invoice_id: int | None
    body: str
    status: str
    detail: str | None
    created_at: datetime
    sent_at: datetime | None


def subscription_for(session: Session, tenant: Tenant) -> Subscription:
    """The tenant's subscription, started now as a trial of its tier when it has none (a
    concurrent start: the other one wins, unchanged)."""
    found = session.scalar(select(Subscription).where(Subscription.tenant_id == tenant.id))
    if found is not None:
        return found
    tier = get_tier(session, tenant.tier)
    start = tenant.created_at or utcnow()
    trial_end = start + timedelta(days=tier.trial_days)
    try:
        with session.begin_nested():
            row = Subscription(tenant_id=tenant.id, tier=tier.name, cycle="monthly",
                               status="trialing", payment_method="mpesa",
                               trial_ends_at=trial_end, current_period_start=start,
                               current_period_end=trial_end, discount_cycles_left=0)
            session.add(row)
    except IntegrityError:
        row = session.scalars(
            select(Subscription).where(Subscription.tenant_id == tenant.id)).one()
    return row


def card_label(session: Session, tenant_id: str) -> str | None:
    """The tenant's active saved card (services/billing/cards.py), as shown to the owner."""
    card = session.scalar(select(BillingCard).where(
        BillingCard.tenant_id == tenant_id, BillingCard.status == "active")
        .order_by(BillingCard.id.desc()).limit(1))
    return f"{card.label or 'card'} ({card.provider})" if card is not None else None


def _view(session: Session, tenant: Tenant, row: Subscription, ctx: Context) -> SubscriptionView:
    tier = get_tier(session, row.tier)
    code = session.get(DiscountCode, row.discount_code_id) if row.discount_code_id else None
    phone = (mask_phone(ctx.crypto.decrypt(tenant.billing_phone_encrypted))
             if tenant.billing_phone_encrypted else None)
    renews = None if row.status == "cancelled" else row.current_period_end
    card = card_label(session, tenant.id)
    return SubscriptionView(
        tenant.id, row.tier, row.cycle, row.status, row.payment_method, phone, card,
        row.trial_ends_at,
        row.current_period_start, row.current_period_end, renews, tier.price_minor(row.cycle),
        tier.currency, code.code if code else None, row.discount_cycles_left)


def get_subscription(ctx: Context, tenant_id: str) -> SubscriptionView:
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        return _view(session, tenant, subscription_for(session, tenant), ctx)


def change_subscription(ctx: Context, tenant_id: str, changes: dict[str, Any]) -> SubscriptionView:
    """The merchant's changes: tier (checked against usage; the new price from the next
    renewal), billing cycle, payment method, the billing phone, a discount code, cancelling."""
    method = changes.get("payment_method")
    if method is not None and method not in SUPPORTED_METHODS:
        raise Unprocessable(f"Payment method {method!r} is not available yet",
                            {"payment_method": [f"One of {', '.join(SUPPORTED_METHODS)}."]})
    phone = changes.get("billing_phone")
    if phone is not None:
        phone = kenyan_mobile(phone, field="billing_phone")
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        row = subscription_for(session, tenant)
        session.flush()
        before = _view(session, tenant, row, ctx)
        if "tier" in changes:
            change_tier(session, tenant, changes["tier"])
        if "cycle" in changes:
            row.cycle = changes["cycle"]
        if method == "card" and card_label(session, tenant.id) is None:
            raise Unprocessable("No card is saved for the subscription", {"payment_method": [
                "Save a card first: POST /v1/subscription/payment-method."]})
        if method is not None:
            row.payment_method = method
        if phone is not None:
            tenant.billing_phone_encrypted = ctx.crypto.encrypt(phone)
        if changes.get("discount_code"):
            if row.discount_cycles_left > 0:
                raise Conflict("A discount is already applied to the next invoices")
            code = redeem(session, changes["discount_code"])
            row.discount_code_id, row.discount_cycles_left = code.id, code.cycles
        if changes.get("cancelled") is True and row.status in ("trialing", "active",
                                                                "past_due"):
            row.status = "cancelled"
        elif changes.get("cancelled") is False:
            _resume(ctx, session, row)
        session.flush()
        after = _view(session, tenant, row, ctx)
        if after != before:
            record_audit(session, tenant_id, None, "subscription.update",
                         ("subscription", row.id), before, after)
        return after


def _resume(ctx: Context, session: Session, row: Subscription) -> None:
    """Undo a cancellation: before the period's end nothing else changes; after it (the tenant
    was suspended) a new period starts now with its invoice, whose payment lifts the
    suspension."""
    now = utcnow()
    if row.status == "cancelled":
        trial = row.trial_ends_at is not None and row.trial_ends_at > now
        row.status = "trialing" if trial else "active"
        return
    ended = row.status == "suspended" and not session.scalar(
        select(Invoice.id).where(Invoice.subscription_id == row.id, Invoice.status == "open"))
    if ended:
        row.current_period_start = row.current_period_end = now
        issue_invoice(ctx, session, row, now)


def invoice_view(row: Invoice) -> InvoiceView:
    return InvoiceView(row.id, row.number, row.period_start, row.period_end, row.currency,
                       list(row.lines), row.subtotal_minor, row.discount_minor, row.tax_minor,
                       row.total_minor, row.status, row.failed_attempts, row.next_attempt_at,
                       row.paid_at, row.paid_reference, row.created_at)


def list_invoices(ctx: Context, tenant_id: str, page: int, page_size: int,
                  status: str | None = None) -> Page[InvoiceView]:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        query = select(Invoice).where(Invoice.tenant_id == tenant_id)
        if status:
            query = query.where(Invoice.status == status)
        count, rows = fetch_page(session, query, page, page_size, Invoice.id.desc())
        return Page(count, page, page_size, [invoice_view(row) for row in rows])


def list_reminders(ctx: Context, tenant_id: str, page: int,
                   page_size: int) -> Page[ReminderView]:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        query = select(BillingReminder).where(BillingReminder.tenant_id == tenant_id)
        count, rows = fetch_page(session, query, page, page_size, BillingReminder.id.desc())
        return Page(count, page, page_size, [
            ReminderView(row.id, row.kind, row.invoice_id, row.body, row.status, row.detail,
                         row.created_at, row.sent_at) for row in rows])
