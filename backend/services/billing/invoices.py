"""Invoices: the platform's number sequence, an invoice for one period of a subscription (its
price, discount and tax as lines), and what paying one does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.billing import add_cycle, invoice_totals
from backend.models import DiscountCode, Invoice, InvoiceCounter, Subscription, Tenant
from backend.services.platform.tiers import get_tier
from backend.wiring import Context


def next_number(session: Session) -> str:
    """The platform's next invoice number (the counter row is locked until commit)."""
    bumped = session.execute(
        update(InvoiceCounter).where(InvoiceCounter.name == "invoices")
        .values(last_value=InvoiceCounter.last_value + 1)
        .returning(InvoiceCounter.last_value)).scalar()
    if bumped is None:
        try:
            with session.begin_nested():
                session.add(InvoiceCounter(name="invoices", last_value=1))
            bumped = 1
        except IntegrityError:  # another run created it first
            return next_number(session)
    return f"INV-{int(bumped):06d}"


def issue_invoice(ctx: Context, session: Session, subscription: Subscription,
                  now: datetime) -> Invoice:
    """The open invoice of the period starting at the subscription's current period end,
    due now (a zero total is paid at once)."""
    tier = get_tier(session, subscription.tier)
    price = tier.price_minor(subscription.cycle)
    lines: list[dict[str, Any]] = [{"description": f"{tier.name} plan, {subscription.cycle}",
                                    "amount_minor": price}]
    discount = None
    if subscription.discount_cycles_left > 0 and subscription.discount_code_id:
        code = session.get(DiscountCode, subscription.discount_code_id)
        if code is not None:
            discount = (code.kind, code.value)
            subscription.discount_cycles_left -= 1
    totals = invoice_totals(price, discount, ctx.settings.billing_tax_basis_points)
    if totals.discount_minor:
        lines.append({"description": "Discount", "amount_minor": -totals.discount_minor})
    if totals.tax_minor:
        lines.append({"description": "Tax", "amount_minor": totals.tax_minor})
    start = subscription.current_period_end
    invoice = Invoice(tenant_id=subscription.tenant_id, subscription_id=subscription.id,
                      number=next_number(session), period_start=start,
                      period_end=add_cycle(start, subscription.cycle), currency=tier.currency,
                      lines=lines, subtotal_minor=totals.subtotal_minor,
                      discount_minor=totals.discount_minor, tax_minor=totals.tax_minor,
                      total_minor=totals.total_minor, status="open", failed_attempts=0,
                      next_attempt_at=now)
    session.add(invoice)
    session.flush()
    if totals.total_minor == 0:  # nothing to charge (a free tier, a 100 % discount)
        mark_paid(session, invoice, "no charge", now)
    return invoice


def mark_paid(session: Session, invoice: Invoice, reference: str, now: datetime) -> None:
    """Pay an open invoice: the subscription moves to its period, a suspension is lifted."""
    invoice.status, invoice.paid_at, invoice.paid_reference = "paid", now, reference[:64]
    invoice.next_attempt_at = None
    subscription = session.get(Subscription, invoice.subscription_id, with_for_update=True)
    tenant = session.get(Tenant, invoice.tenant_id)
    if subscription is None or tenant is None:
        return
    if invoice.period_end > subscription.current_period_end:
        subscription.current_period_start = invoice.period_start
        subscription.current_period_end = invoice.period_end
    if subscription.status == "suspended" and tenant.status == "suspended":
        tenant.status = "active"
    if subscription.status != "cancelled":
        subscription.status = "active"
