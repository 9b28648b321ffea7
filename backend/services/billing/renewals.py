"""The daily billing run: trials started, renewal reminders, invoices issued for due periods,
each charged by M-Pesa STK push to the owner's billing phone through the platform's paybill,
or by the saved card (services/billing/cards.py: Paystack or Stripe, off-session); the
callback, webhook or the card's synchronous answer pays the invoice and extends the period.
A failed charge (a declined card included) is retried 1, 3 and 7 days after the renewal,
with a reminder after each failure; the last failure suspends the tenant, and paying the
invoice lifts the suspension.

Never twice: an invoice per subscription period (unique), a charge per invoice attempt (unique,
claimed before M-Pesa is called, then moved queued -> sending by exactly one job), a callback
applied once per charge (the charge row locked, its status checked).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.billing import next_retry, reminder_due
from backend.domain.errors import Conflict, NotFound
from backend.domain.money import Money
from backend.domain.payments import mpesa_reason, msisdn, stk_amount_shillings
from backend.models import BillingCharge, Invoice, Subscription, Tenant
from backend.models.base import utcnow
from backend.providers.daraja import (
    SANDBOX_PASSKEY,
    SANDBOX_SHORTCODE,
    DarajaClient,
    DarajaError,
    StkCallback,
)
from backend.queueing.names import CHARGE_INVOICE, FINISH_CARD_SETUP, SEND_BILLING_REMINDER
from backend.services.billing import cards
from backend.services.billing.invoices import issue_invoice, mark_paid
from backend.services.billing.reminders import add_reminder
from backend.services.billing.subscriptions import subscription_for
from backend.services.platform.tiers import get_tier
from backend.wiring import Context

log = logging.getLogger(__name__)
RENEWING = ("trialing", "active")
OPEN_CHARGES = ("queued", "sending", "pending")
# An STK prompt unanswered this long after STK_EXPIRY_SECONDS is a failed attempt.
ANSWER_GRACE_SECONDS = 300
# Sandbox only, when BILLING_* is unset: the simulator's test account.
SANDBOX_BILLING = {"consumer_key": "platform-billing-key",
                   "consumer_secret": "platform-billing-secret",
                   "shortcode": SANDBOX_SHORTCODE, "passkey": SANDBOX_PASSKEY}


@dataclass(frozen=True)
class RunReport:
    trials_started: int
    reminders: int
    invoices_issued: int
    charges_queued: int
    charges_expired: int


def billing_token(ctx: Context) -> str:
    """The secret path token of the platform's subscription STK callbacks (derived)."""
    return ctx.crypto.keyed_hash("mpesa-billing-results")[:40]


def _setting(ctx: Context, name: str) -> str:
    value = str(getattr(ctx.settings, f"billing_{name}"))
    return value or (SANDBOX_BILLING[name] if ctx.settings.sandbox else "")


def _client(ctx: Context) -> DarajaClient:
    settings = ctx.settings
    url = settings.billing_daraja_url or (f"{settings.payments_sandbox_url}/daraja"
                                          if settings.sandbox else "")
    return DarajaClient(url, _setting(ctx, "consumer_key"), _setting(ctx, "consumer_secret"))


def run_billing(ctx: Context, now: datetime | None = None) -> RunReport:
    """The daily run (safe to repeat, or to run twice at once)."""
    moment = now or utcnow()
    started = _start_trials(ctx)
    reminders = _renewal_reminders(ctx, moment) + _end_cancelled(ctx, moment)
    issued = _issue_invoices(ctx, moment)
    expired = _expire_unanswered(ctx, moment)
    charges = _claim_charges(ctx, moment)
    for reminder_id in reminders:
        ctx.jobs.enqueue(SEND_BILLING_REMINDER, reminder_id)
    for charge_id in charges:
        ctx.jobs.enqueue(CHARGE_INVOICE, charge_id)
    for card_id in cards.unfinished_refunds(ctx, moment):
        ctx.jobs.enqueue(FINISH_CARD_SETUP, card_id)
    return RunReport(started, len(reminders), issued, len(charges), expired)


def _start_trials(ctx: Context) -> int:
    with ctx.db.transaction() as session:
        tenants = session.scalars(select(Tenant).where(
            ~exists().where(Subscription.tenant_id == Tenant.id))).all()
        for tenant in tenants:
            subscription_for(session, tenant)
        return len(tenants)


def _end_cancelled(ctx: Context, now: datetime) -> list[int]:
    """A cancelled subscription runs to the end of its period; then its tenant is suspended
    (once: the reminder's key marks it; PATCH cancelled=false starts it again)."""
    ids: list[int] = []
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(Subscription, Tenant).join(Tenant, Tenant.id == Subscription.tenant_id)
            .where(Subscription.status == "cancelled",
                   Subscription.current_period_end <= now)).all()
        for subscription, tenant in rows:
            reminder = add_reminder(
                session, tenant, f"ended:{subscription.id}:{subscription.current_period_end:%Y%m%d}",
                "ended", None, "billing.ended", date=f"{subscription.current_period_end:%d %b %Y}")
            if reminder is not None:
                subscription.status = tenant.status = "suspended"
                ids.append(reminder)
    return ids


def _amount(total_minor: int, currency: str) -> str:
    return Money(total_minor, currency).format()


def _renewal_reminders(ctx: Context, now: datetime) -> list[int]:
    ids: list[int] = []
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(Subscription, Tenant).join(Tenant, Tenant.id == Subscription.tenant_id)
            .where(Subscription.status.in_(RENEWING),
                   Subscription.current_period_end > now,
                   Subscription.current_period_end <= now + timedelta(days=7))).all()
        for subscription, tenant in rows:
            days = reminder_due(subscription.current_period_end, now)
            if days is None:
                continue
            tier = get_tier(session, subscription.tier)
            key = (f"renewal:{subscription.id}:{subscription.current_period_end:%Y%m%d}:{days}")
            reminder = add_reminder(session, tenant, key, f"renewal_{days}", None,
                                    "billing.renewal", tier=tier.name,
                                    date=f"{subscription.current_period_end:%d %b %Y}",
                                    amount=_amount(tier.price_minor(subscription.cycle),
                                                   tier.currency))
            if reminder is not None:
                ids.append(reminder)
    return ids


def _issue_invoices(ctx: Context, now: datetime) -> int:
    with ctx.db.transaction() as session:
        due = session.scalars(select(Subscription.id).where(
            Subscription.status.in_(RENEWING), Subscription.current_period_end <= now,
            ~exists().where(and_(Invoice.subscription_id == Subscription.id,
                                 Invoice.period_start == Subscription.current_period_end)))
        ).all()
    issued = 0
    for subscription_id in due:
        try:
            with ctx.db.transaction() as session:
                issued += _issue_one(ctx, session, subscription_id, now)
        except IntegrityError:  # a concurrent run issued it (SQLite takes no row lock)
            continue
    return issued


def _issue_one(ctx: Context, session: Session, subscription_id: int, now: datetime) -> int:
    subscription = session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None or subscription.status not in RENEWING \
            or subscription.current_period_end > now:
        return 0
    start = subscription.current_period_end
    if session.scalar(select(Invoice.id).where(Invoice.subscription_id == subscription.id,
                                               Invoice.period_start == start)):
        return 0  # the other run issued it
    issue_invoice(ctx, session, subscription, now)
    return 1


def _claim_charges(ctx: Context, now: datetime) -> list[int]:
    with ctx.db.transaction() as session:
        due = session.scalars(select(Invoice.id).where(
            Invoice.status == "open", Invoice.next_attempt_at <= now)).all()
    claimed = []
    for invoice_id in due:
        try:
            with ctx.db.transaction() as session:
                charge = _claim(session, invoice_id, now)
        except IntegrityError:  # a concurrent run claimed this attempt
            charge = None
        if charge is not None:
            claimed.append(charge)
    return claimed


def _claim(session: Session, invoice_id: int, now: datetime) -> int | None:
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None or invoice.status != "open" or invoice.next_attempt_at is None \
            or invoice.next_attempt_at > now:
        return None
    attempt = invoice.failed_attempts
    if session.scalar(select(BillingCharge.id).where(BillingCharge.invoice_id == invoice.id,
                                                     BillingCharge.attempt == attempt)):
        return None
    subscription = session.get(Subscription, invoice.subscription_id)
    charge = BillingCharge(tenant_id=invoice.tenant_id, invoice_id=invoice.id, attempt=attempt,
                           key=f"inv{invoice.id}a{attempt}",
                           method=subscription.payment_method if subscription else "mpesa",
                           amount_minor=invoice.total_minor, status="queued")
    session.add(charge)
    invoice.next_attempt_at = None  # until this attempt fails
    session.flush()
    return charge.id


@dataclass(frozen=True)
class _Push:
    charge_id: int
    key: str
    number: str
    amount_minor: int
    phone: str | None


def charge_invoice(ctx: Context, charge_id: int) -> str:
    """Charge one claimed attempt (the job): only the job that moves it from queued to
    sending calls the provider (an STK push, or the saved card); a rerun after that (a killed
    worker) does nothing, and the callback, the webhook or the expiry settles the attempt."""
    with ctx.db.transaction() as session:
        moved = session.execute(
            update(BillingCharge).where(BillingCharge.id == charge_id,
                                        BillingCharge.status == "queued")
            .values(status="sending", updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if moved != 1:
            return "skipped"
        charge = session.get(BillingCharge, charge_id)
        invoice = session.get(Invoice, charge.invoice_id) if charge else None
        tenant = session.get(Tenant, charge.tenant_id) if charge else None
        if charge is None or invoice is None or tenant is None:
            return "skipped"
        work, push = None, None
        if charge.method == "card":
            work = cards.load_card_charge(ctx, session, charge, invoice)
        else:
            phone = (ctx.crypto.decrypt(tenant.billing_phone_encrypted)
                     if tenant.billing_phone_encrypted else None)
            push = _Push(charge.id, charge.key, invoice.number, charge.amount_minor, phone)
    if push is None:
        if work is None:
            return _failed(ctx, charge_id, "no card is saved (POST /v1/subscription/"
                                           "payment-method)")
        return _record_card_result(ctx, charge_id, cards.call_provider(ctx, work))
    if push.phone is None:
        return _failed(ctx, push.charge_id, "no billing phone is set (PATCH /v1/subscription)")
    shortcode = _setting(ctx, "shortcode")
    try:
        answer = _client(ctx).stk_push(
            shortcode=shortcode, passkey=_setting(ctx, "passkey"), party_b=shortcode,
            phone=msisdn(push.phone), amount_shillings=stk_amount_shillings(push.amount_minor),
            callback_url=(f"{ctx.settings.public_url}/webhooks/mpesa/billing/"
                          f"{billing_token(ctx)}/{push.key}"),
            account_reference=push.number, description="Subscription")
    except DarajaError as error:
        return _failed(ctx, push.charge_id, f"M-Pesa refused the request: {error}")
    _record_checkout(ctx, push.charge_id, answer.checkout_request_id)
    return "pending"


def _record_checkout(ctx: Context, charge_id: int, checkout_request_id: str) -> None:
    with ctx.db.transaction() as session:
        charge = session.get(BillingCharge, charge_id, with_for_update=True)
        if charge is None:
            return
        if charge.checkout_request_id is None:
            charge.checkout_request_id = checkout_request_id
        if charge.status == "sending":  # the callback may already have settled it
            charge.status = "pending"


def _failed(ctx: Context, charge_id: int, reason: str, now: datetime | None = None) -> str:
    reminder = None
    with ctx.db.transaction() as session:
        charge = session.get(BillingCharge, charge_id, with_for_update=True)
        if charge is not None and charge.status in OPEN_CHARGES:
            reminder = _attempt_failed(session, charge, reason, now or utcnow())
    if reminder is not None:
        ctx.jobs.enqueue(SEND_BILLING_REMINDER, reminder)
    return "failed"


def _attempt_failed(session: Session, charge: BillingCharge, reason: str,
                    now: datetime) -> int | None:
    """Count one failed attempt (the charge is open and locked): the next retry with a
    reminder, or after the last one the tenant's suspension."""
    charge.status, charge.failure = "failed", reason[:200]
    invoice = session.get(Invoice, charge.invoice_id, with_for_update=True)
    if invoice is None or invoice.status != "open":
        return None
    invoice.failed_attempts += 1
    subscription = session.get(Subscription, invoice.subscription_id)
    tenant = session.get(Tenant, invoice.tenant_id)
    if subscription is None or tenant is None:
        return None
    retry = next_retry(invoice.period_start, invoice.failed_attempts)
    amount = _amount(invoice.total_minor, invoice.currency)
    if retry is None:
        invoice.next_attempt_at = None
        subscription.status = "suspended"
        tenant.status = "suspended"
        log.info("tenant %s suspended: invoice %s unpaid", tenant.id, invoice.number)
        return add_reminder(session, tenant, f"suspended:{invoice.id}", "suspended", invoice.id,
                            "billing.suspended", amount=amount, number=invoice.number)
    invoice.next_attempt_at = max(retry, now)
    if subscription.status != "cancelled":
        subscription.status = "past_due"
    return add_reminder(session, tenant, f"failed:{invoice.id}:{invoice.failed_attempts}",
                        "failed", invoice.id, "billing.failed", amount=amount,
                        number=invoice.number, reason=reason,
                        date=f"{invoice.next_attempt_at:%d %b %Y}")


def _expire_unanswered(ctx: Context, now: datetime) -> int:
    """Charges M-Pesa never answered (or whose worker died mid-push) fail, so the next retry
    comes; a late success callback still pays the invoice. A card charge left unanswered is
    looked up at its provider first (cards.lookup): paid, declined, or still unknown (failed
    like an unanswered push)."""
    cutoff = utcnow() - timedelta(seconds=ctx.settings.stk_expiry_seconds + ANSWER_GRACE_SECONDS)
    with ctx.db.transaction() as session:
        stale = session.execute(select(BillingCharge.id, BillingCharge.method).where(
            BillingCharge.status.in_(("sending", "pending")),
            BillingCharge.updated_at < cutoff)).all()
    for charge_id, method in stale:
        if method == "card":
            _resolve_card(ctx, charge_id, now)
        else:
            _failed(ctx, charge_id, "no answer from M-Pesa", now)
    return len(stale)


def _resolve_card(ctx: Context, charge_id: int, now: datetime) -> None:
    with ctx.db.transaction() as session:
        charge = session.get(BillingCharge, charge_id)
        invoice = session.get(Invoice, charge.invoice_id) if charge else None
        if charge is None or invoice is None or charge.status not in OPEN_CHARGES:
            return
        work = cards.load_card_charge(ctx, session, charge, invoice)
    if work is None:
        _failed(ctx, charge_id, "no card is saved", now)
        return
    result = cards.lookup(ctx, work)
    if result.status in ("unknown", "pending"):
        _failed(ctx, charge_id, f"no answer from the card provider ({result.reason})"
                if result.reason else "no answer from the card provider", now)
        return
    _record_card_result(ctx, charge_id, result)


def _record_card_result(ctx: Context, charge_id: int, result: cards.CardResult) -> str:
    """The card provider's synchronous answer to a charge (or a lookup's)."""
    if result.status == "unknown":  # settled by a webhook or, later, by the lookup
        with ctx.db.transaction() as session:
            charge = session.get(BillingCharge, charge_id, with_for_update=True)
            if charge is not None and charge.status == "sending":
                charge.status = "pending"
        return "pending"
    return settle_card_charge(ctx, str(charge_id), result, by_key=False)


def settle_card_charge(ctx: Context, charge: str, result: cards.CardResult,
                       by_key: bool = True) -> str:
    """Settle one card charge (by its key from a webhook, or its id from the synchronous
    answer) once: paid pays the invoice; declined counts a failed attempt; pending waits for
    the webhook. Duplicates and late answers change nothing twice."""
    reminder = None
    now = utcnow()
    with ctx.db.transaction() as session:
        query = select(BillingCharge).where(
            BillingCharge.key == charge if by_key else BillingCharge.id == int(charge))
        row = session.scalar(query.with_for_update())
        if row is None or row.method != "card":
            log.warning("card event for an unknown billing charge %s", charge)
            return "unknown"
        if result.reference and row.checkout_request_id is None:
            row.checkout_request_id = result.reference[:64]
        if result.status == "paid":
            if result.amount_minor is not None and result.amount_minor != row.amount_minor:
                log.warning("billing charge %s: the provider charged %s, not %s", row.key,
                            result.amount_minor, row.amount_minor)
                return "amount mismatch"
            if row.status == "paid":
                return "duplicate"
            row.status, row.reference = "paid", (result.reference or row.key)[:64]
            invoice = session.get(Invoice, row.invoice_id, with_for_update=True)
            if invoice is not None and invoice.status == "open":
                mark_paid(session, invoice, row.reference or row.key, now)
                return "paid"
            log.warning("billing charge %s paid an invoice already settled", row.key)
            return "paid twice"
        if row.status not in OPEN_CHARGES:
            return "ignored"
        if result.status == "pending":
            row.status = "pending"
            return "pending"
        reminder = _attempt_failed(session, row, f"card declined: {result.reason}"
                                   if result.reason else "card declined", now)
    if reminder is not None:
        ctx.jobs.enqueue(SEND_BILLING_REMINDER, reminder)
    return "failed"


def record_card_event(ctx: Context, provider: str, event: cards.CardEvent) -> str:
    """Apply one verified Paystack or Stripe webhook of the platform's billing account."""
    if event.kind in ("setup_saved", "setup_failed"):
        return cards.apply_card_setup(ctx, provider, event)
    if event.kind in ("charge_paid", "charge_failed") and event.result is not None:
        return settle_card_charge(ctx, event.reference, event.result)
    return "ignored"


def record_stk_result(ctx: Context, key: str, callback: StkCallback) -> str:
    """Apply one STK callback for the charge `key` (the callback URL's); duplicates and
    late or out-of-order callbacks change nothing twice."""
    reminder = None
    now = utcnow()
    with ctx.db.transaction() as session:
        charge = session.scalar(select(BillingCharge).where(BillingCharge.key == key)
                                .with_for_update())
        if charge is None:
            raise NotFound("Unknown billing charge")
        if charge.checkout_request_id not in (None, callback.checkout_request_id):
            raise NotFound("Unknown billing charge")
        charge.checkout_request_id = callback.checkout_request_id
        if callback.result_code == "0":
            if charge.status == "paid":
                return "duplicate"
            charge.status, charge.reference = "paid", callback.receipt
            invoice = session.get(Invoice, charge.invoice_id, with_for_update=True)
            if invoice is not None and invoice.status == "open":
                mark_paid(session, invoice, callback.receipt or charge.key, now)
                return "paid"
            log.warning("billing charge %s paid an invoice already settled", charge.key)
            return "paid twice"
        if charge.status not in OPEN_CHARGES:
            return "ignored"
        reminder = _attempt_failed(session, charge, mpesa_reason(callback.result_code,
                                                                callback.result_desc), now)
    if reminder is not None:
        ctx.jobs.enqueue(SEND_BILLING_REMINDER, reminder)
    return "failed"


def pay_invoice(ctx: Context, tenant_id: str, invoice_id: int) -> Invoice:
    """The owner pays an open invoice now (after failures, or while suspended): one more
    charge by the subscription's payment method (an STK push or the saved card), queued; its
    result pays the invoice and lifts a suspension."""
    now = utcnow()
    with ctx.db.transaction() as session:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
        if invoice is None or invoice.tenant_id != tenant_id:
            raise NotFound(f"No invoice {invoice_id}")
        if invoice.status != "open":
            raise Conflict(f"Invoice {invoice.number} is {invoice.status}")
        waiting = session.scalar(select(BillingCharge.id).where(
            BillingCharge.invoice_id == invoice.id, BillingCharge.status.in_(OPEN_CHARGES)))
        if waiting is not None:
            raise Conflict("A payment request for this invoice is already waiting for an answer")
        invoice.next_attempt_at = now
        session.flush()
        charge = _claim(session, invoice.id, now)
        session.flush()
        session.expunge(invoice)
    if charge is not None:
        ctx.jobs.enqueue(CHARGE_INVOICE, charge)
    return invoice
