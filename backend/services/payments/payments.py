"""Payments of orders: one record per attempt (M-Pesa STK, paybill/till instructions, card
checkout or the merchant's own link), idempotent creation, the outcome applied once (order
paid, wallet credited), and expiry of STK pushes nobody answered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import Conflict, LimitExceeded, NotFound, Unavailable
from backend.domain.money import Money, MoneyError
from backend.domain.orders import CANCELLED, PAID, PENDING_PAYMENT, check_transition
from backend.domain.payments import (
    AWAITING_CUSTOMER,
    EXPIRED,
    FAILED,
    MPESA_MANUAL,
    MPESA_STK,
    OPEN_STATUSES,
    PENDING,
    PUSH_FAILED,
    SUCCEEDED,
    TIMEOUT,
    kenyan_mobile,
    mask_phone,
    mpesa_reason,
    msisdn,
    order_reference,
    stk_amount_shillings,
)
from backend.services.platform.tiers import get_tier
from backend.queueing.names import NOTIFY_CUSTOMER, SEND_STK_PUSH
from backend.queueing.runner import JobQueueUnavailable
from backend.models import Customer, Order, Payment
from backend.models.base import utcnow
from backend.providers import paystack, pesapal, stripe_checkout
from backend.providers.daraja import DarajaError
from backend.services.platform.idempotency import IdempotencyRequest, remember, replayed_id
from backend.services.platform.pages import Page, fetch_page
from backend.services.payments.settings import (
    ProviderConfig,
    base_url,
    callback_urls,
    daraja_client,
    load_provider_config,
    provider_config,
    remember_pesapal_ipn,
)
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant
from backend.services.payments.deposits import settle_deposit
from backend.services.payments.wallets import credit_payment

log = logging.getLogger(__name__)
PROVIDER_ERROR = "provider_error"


@dataclass(frozen=True)
class PaymentView:
    id: int
    order_id: int
    method: str
    provider: str
    status: str
    amount_minor: int
    currency: str
    phone: str | None  # masked: +254712***678
    checkout_url: str | None
    instructions: dict[str, Any] | None
    provider_reference: str | None
    receipt: str | None
    failure_code: str | None
    failure_reason: str | None
    review_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CreatedPayment:
    payment: PaymentView
    replayed: bool


@dataclass(frozen=True)
class Outcome:
    """What applying a provider's answer did: "succeeded", "failed", "flagged", "duplicate"…"""

    result: str
    payment_id: int | None = None
    notify: bool = False


def view(ctx: Context, payment: Payment) -> PaymentView:
    phone = ctx.crypto.decrypt(payment.phone_encrypted) if payment.phone_encrypted else None
    return PaymentView(
        id=payment.id, order_id=payment.order_id, method=payment.method,
        provider=payment.provider, status=payment.status, amount_minor=payment.amount_minor,
        currency=payment.currency, phone=mask_phone(phone) if phone else None,
        checkout_url=payment.checkout_url, instructions=payment.instructions,
        provider_reference=payment.provider_reference, receipt=payment.receipt,
        failure_code=payment.failure_code, failure_reason=payment.failure_reason,
        review_reason=payment.review_reason, created_at=payment.created_at,
        updated_at=payment.updated_at or payment.created_at,
    )


def _order(session: Session, tenant_id: str, order_id: int, customer_id: int | None,
           lock: bool = False) -> Order:
    order = tenant_row(session, Order, order_id, tenant_id, "order")
    if customer_id is not None and order.customer_id != customer_id:
        raise NotFound(f"No order {order_id}")
    if lock:
        session.refresh(order, with_for_update=True)
    return order


def _mpesa_amount(order: Order) -> int:
    return stk_amount_shillings(order.total_minor) * 100


def _stk_phone(ctx: Context, session: Session, order: Order, phone: str | None) -> str:
    if phone:
        return kenyan_mobile(phone)
    customer = session.get(Customer, order.customer_id)
    assert customer is not None
    return kenyan_mobile(ctx.crypto.decrypt(customer.phone_encrypted))


def create_payment(ctx: Context, tenant_id: str, order_id: int, method: str,
                   phone: str | None = None, customer_id: int | None = None,
                   idempotency: IdempotencyRequest | None = None) -> CreatedPayment:
    """Record an attempt to pay an order pending payment; the provider is contacted after the
    commit (STK push queued; a card checkout created with one quick call)."""
    with ctx.db.transaction() as session:
        previous = replayed_id(session, tenant_id, idempotency)
        if previous is not None:
            payment = tenant_row(session, Payment, previous, tenant_id, "payment")
            return CreatedPayment(view(ctx, payment), replayed=True)
        tenant = require_tenant(session, tenant_id)
        order = _order(session, tenant_id, order_id, customer_id, lock=True)
        if order.status != PENDING_PAYMENT:
            raise Conflict(f"Order {order.id} is {order.status}: only an order pending payment "
                           "can be paid")
        payment = Payment(tenant_id=tenant_id, order_id=order.id, customer_id=order.customer_id,
                          method=method, currency=order.currency)
        if method in (MPESA_STK, MPESA_MANUAL):
            _mpesa(ctx, session, tenant.features, order, payment, phone)
        else:
            _card(session, ctx, tenant.features, tenant.tier, order, payment)
        session.add(payment)
        session.flush()
        remember(session, tenant_id, idempotency, payment.id)
        created = view(ctx, payment)
    if method == MPESA_STK:
        try:
            ctx.jobs.enqueue(SEND_STK_PUSH, created.id)
        except JobQueueUnavailable as error:
            fail_payment(ctx, created.id, PUSH_FAILED, f"The payment queue is unavailable: "
                         f"{error}", notify=False)
            raise Unavailable("Payments cannot be started right now; try again shortly") \
                from error
    elif created.provider in ("paystack", "stripe", "pesapal"):
        created = open_card_checkout(ctx, created.id)
    return CreatedPayment(created, replayed=False)


def _mpesa(ctx: Context, session: Session, features: dict[str, Any], order: Order,
           payment: Payment, phone: str | None) -> None:
    if order.currency != "KES":
        raise Conflict(f"M-Pesa takes Kenyan shillings; this order is in {order.currency}")
    config = provider_config(session, ctx, order.tenant_id)
    if not config.get("mpesa_shortcode"):
        raise Conflict("This shop has not set up M-Pesa yet")
    payment.amount_minor = _mpesa_amount(order)
    if payment.method == MPESA_MANUAL:
        key = "till" if config.till else "paybill"
        payment.provider, payment.status = "manual", AWAITING_CUSTOMER
        payment.instructions = {key: config.party_b, "account": order_reference(order.id),
                                "amount_minor": payment.amount_minor}
        return
    if not features.get("mpesa_stk"):
        raise Conflict("M-Pesa prompts (STK push) are turned off for this shop; pay with the "
                       "paybill/till instructions instead")
    if not config.mpesa_ready:
        raise Conflict("This shop's M-Pesa (Daraja) credentials are not set up")
    payment.phone_encrypted = ctx.crypto.encrypt(_stk_phone(ctx, session, order, phone))
    payment.provider, payment.status = "daraja", PENDING
    payment.expires_at = utcnow() + timedelta(seconds=ctx.settings.stk_expiry_seconds)


def _card(session: Session, ctx: Context, features: dict[str, Any], tier: str, order: Order,
          payment: Payment) -> None:
    if not features.get("card_payments"):
        raise Conflict("Card payments are turned off for this shop")
    config = provider_config(session, ctx, order.tenant_id)
    payment.amount_minor = order.total_minor
    if get_tier(session, tier).payment_facilitation and config.get("card_provider"):
        payment.provider, payment.status = str(config.get("card_provider")), PENDING
        return
    link = config.get("merchant_payment_link")
    if not link:
        raise LimitExceeded(f"The {tier} tier does not include card payments through the "
                            "platform, and the shop has no payment link of its own")
    payment.provider, payment.status = "merchant_link", AWAITING_CUSTOMER
    payment.checkout_url = str(link)
    payment.instructions = {"account": order_reference(order.id),
                            "amount_minor": payment.amount_minor}


def get_payment(ctx: Context, tenant_id: str, payment_id: int,
                customer_id: int | None = None) -> PaymentView:
    with ctx.db.transaction() as session:
        payment = tenant_row(session, Payment, payment_id, tenant_id, "payment")
        if customer_id is not None and payment.customer_id != customer_id:
            raise NotFound(f"No payment {payment_id}")
        return view(ctx, payment)


def list_payments(ctx: Context, tenant_id: str, order_id: int, customer_id: int | None = None,
                  page: int = 1, page_size: int = 50) -> Page[PaymentView]:
    with ctx.db.transaction() as session:
        _order(session, tenant_id, order_id, customer_id)
        query = select(Payment).where(Payment.tenant_id == tenant_id, Payment.order_id == order_id)
        count, rows = fetch_page(session, query, page, page_size, Payment.id.desc())
        return Page(count, page, page_size, [view(ctx, p) for p in rows])


# --- talking to the providers (jobs) ----------------------------------------------------------

@dataclass(frozen=True)
class _Attempt:
    payment_id: int
    tenant_id: str
    order_id: int
    amount_minor: int
    currency: str
    phone: str | None
    provider: str
    status: str
    provider_reference: str | None


def _attempt(ctx: Context, payment_id: int) -> _Attempt | None:
    with ctx.db.transaction() as session:
        p = session.get(Payment, payment_id)
        if p is None:
            return None
        phone = ctx.crypto.decrypt(p.phone_encrypted) if p.phone_encrypted else None
        return _Attempt(p.id, p.tenant_id, p.order_id, p.amount_minor, p.currency, phone,
                        p.provider, p.status, p.provider_reference)


def push_stk(ctx: Context, payment_id: int, final_attempt: bool) -> Outcome:
    """Send the STK push of a pending payment once; a refusal fails the payment, an outage
    raises (retried) until the last attempt, which fails it too."""
    attempt = _attempt(ctx, payment_id)
    if attempt is None or attempt.status != PENDING or attempt.provider_reference:
        return Outcome("skipped", payment_id)
    config = load_provider_config(ctx, attempt.tenant_id)
    try:
        result = daraja_client(ctx, config).stk_push(
            shortcode=str(config.get("mpesa_shortcode")), passkey=str(config.get("mpesa_passkey")),
            party_b=config.party_b, phone=msisdn(attempt.phone or ""),
            amount_shillings=attempt.amount_minor // 100,
            callback_url=callback_urls(ctx.settings, config.callback_token)["mpesa_stk"],
            account_reference=order_reference(attempt.order_id), description="Order payment",
            till=config.till)
    except DarajaError as error:
        transient = error.status is None or error.status >= 500
        if transient and not final_attempt:
            raise
        return fail_payment(ctx, payment_id, PUSH_FAILED, f"{mpesa_reason(PUSH_FAILED)}: {error}")
    with ctx.db.transaction() as session:
        payment = session.get(Payment, payment_id, with_for_update=True)
        assert payment is not None
        if payment.provider_reference is None:
            payment.provider_reference = result.checkout_request_id
            payment.merchant_request_id = result.merchant_request_id
    return Outcome("pushed", payment_id)


def open_card_checkout(ctx: Context, payment_id: int) -> PaymentView:
    """One quick call to the card provider for a checkout URL; a refusal fails the payment."""
    attempt = _attempt(ctx, payment_id)
    assert attempt is not None
    config = load_provider_config(ctx, attempt.tenant_id)
    urls = callback_urls(ctx.settings, config.callback_token)
    reference = f"{order_reference(attempt.order_id)}-P{attempt.payment_id}"
    done_url = f"{ctx.settings.public_url}/webhooks/payments/done"
    try:
        url, provider_reference = _checkout(ctx, config, attempt, reference, urls, done_url)
    except (paystack.PaystackError, stripe_checkout.StripeCheckoutError,
            pesapal.PesapalError) as error:
        log.warning("card checkout for payment %s failed: %s", payment_id, error)
        fail_payment(ctx, payment_id, PROVIDER_ERROR, f"The card provider refused: {error}",
                     notify=False)
    else:
        with ctx.db.transaction() as session:
            payment = session.get(Payment, payment_id, with_for_update=True)
            assert payment is not None
            payment.checkout_url, payment.provider_reference = url, provider_reference
    return get_payment(ctx, attempt.tenant_id, payment_id)


def _checkout(ctx: Context, config: ProviderConfig, attempt: _Attempt, reference: str,
              urls: dict[str, str], done_url: str) -> tuple[str, str]:
    provider = attempt.provider
    if provider == "paystack":
        client = paystack.PaystackClient(str(config.get("paystack_secret_key") or ""),
                                         base_url(ctx.settings, config, "paystack"))
        email = config.get("receipt_email") or f"{attempt.tenant_id}@payments.invalid"
        checkout = client.initialize(email=str(email), amount_minor=attempt.amount_minor,
                                     currency=attempt.currency, reference=reference,
                                     metadata={"payment_id": attempt.payment_id})
        return checkout.authorization_url, checkout.reference
    if provider == "stripe":
        session = stripe_checkout.create_session(
            secret_key=str(config.get("stripe_secret_key") or ""),
            base_url=base_url(ctx.settings, config, "stripe"), amount_minor=attempt.amount_minor,
            currency=attempt.currency, name=f"Order {order_reference(attempt.order_id)}",
            reference=reference, success_url=done_url,
            metadata={"payment_id": str(attempt.payment_id)})
        return session.url, session.id
    client_p = pesapal.PesapalClient(base_url(ctx.settings, config, "pesapal"),
                                     str(config.get("pesapal_consumer_key") or ""),
                                     str(config.get("pesapal_consumer_secret") or ""))
    ipn_id = config.get("pesapal_ipn_id")
    if not ipn_id:
        ipn_id = client_p.register_ipn(urls["pesapal"], "POST")
        remember_pesapal_ipn(ctx, attempt.tenant_id, ipn_id)
    order = client_p.submit_order(merchant_reference=reference, amount_minor=attempt.amount_minor,
                                  currency=attempt.currency, description=f"Order {reference}",
                                  callback_url=done_url, notification_id=str(ipn_id))
    return order.redirect_url, order.order_tracking_id


# --- applying outcomes ------------------------------------------------------------------------

def _lock_payment(session: Session, payment_id: int) -> Payment | None:
    return session.get(Payment, payment_id, with_for_update=True)


def succeed_locked(session: Session, payment: Payment, amount_minor: int | None,
                   currency: str | None, receipt: str | None) -> Outcome:
    """Apply a success to a locked payment, once: order paid, wallet credited. Money that does
    not match is flagged for review and not credited."""
    if payment.status == SUCCEEDED:
        return Outcome("duplicate", payment.id)
    if (amount_minor is not None and amount_minor != payment.amount_minor) or \
            (currency is not None and currency.upper() != payment.currency):
        # The receipt stays out of payment.receipt (nothing was accepted); the review names it.
        payment.review_reason = (
            f"Provider reported {describe_amount(amount_minor, currency or payment.currency)}; "
            f"expected {describe_amount(payment.amount_minor, payment.currency)}"
            + (f" (provider receipt {receipt})" if receipt else ""))
        return Outcome("flagged", payment.id)
    payment.status, payment.failure_code, payment.failure_reason = SUCCEEDED, None, None
    payment.receipt = receipt or payment.receipt
    payment.notified_at = None  # money after a failure notice: the customer hears of it too
    order = session.get(Order, payment.order_id, with_for_update=True)
    assert order is not None
    if order.status == PENDING_PAYMENT:
        check_transition(order.status, PAID)
        order.status = PAID
    elif order.status == CANCELLED:
        payment.review_reason = "Paid after the order was cancelled: refund or restore it"
    tenant = require_tenant(session, payment.tenant_id)
    session.flush()
    credit_payment(session, payment, tenant.tier)
    # A booking's deposit: its appointment confirmed, or the money refunded when the hold was
    # released meanwhile (the refund is sent by the payment sweep's job).
    settle_deposit(session, payment, order)
    return Outcome("succeeded", payment.id, notify=True)


def describe_amount(amount_minor: int | None, currency: str) -> str:
    """Minor units as a person reads them: 100 KES cents → 'KES 1.00'."""
    if amount_minor is None:
        return f"no amount ({currency})"
    try:
        return Money(amount_minor, currency.upper()).format()
    except MoneyError:  # a currency we do not know: say what came, unconverted
        return f"{amount_minor} minor units of {currency!r}"


def fail_locked(payment: Payment, code: str, reason: str, status: str = FAILED) -> Outcome:
    if payment.status not in OPEN_STATUSES:
        return Outcome("duplicate", payment.id)
    payment.status, payment.failure_code, payment.failure_reason = status, code, reason
    return Outcome(status, payment.id, notify=True)


def fail_payment(ctx: Context, payment_id: int, code: str, reason: str, status: str = FAILED,
                 notify: bool = True) -> Outcome:
    with ctx.db.transaction() as session:
        payment = _lock_payment(session, payment_id)
        if payment is None:
            return Outcome("unknown_reference")
        outcome = fail_locked(payment, code, reason, status)
    if outcome.notify and notify:
        queue_notice(ctx, payment_id)
    return outcome


def queue_notice(ctx: Context, payment_id: int) -> None:
    ctx.jobs.enqueue(NOTIFY_CUSTOMER, payment_id)


def expire_stk_payments(ctx: Context, now: datetime | None = None) -> list[int]:
    """STK pushes past their expiry: ask Daraja once (its answer wins), else fail as timeout."""
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        ids = list(session.scalars(select(Payment.id).where(
            Payment.status == PENDING, Payment.provider == "daraja",
            Payment.expires_at < moment).order_by(Payment.id)))
    for payment_id in ids:
        code, reason = _query_stk(ctx, payment_id)
        with ctx.db.transaction() as session:
            payment = _lock_payment(session, payment_id)
            if payment is None or payment.status != PENDING:
                continue
            if code == "0":
                # Daraja says paid, though no callback came: its query is the confirmation.
                outcome = succeed_locked(session, payment, None, None, payment.receipt)
            else:
                outcome = fail_locked(payment, code or TIMEOUT, reason or mpesa_reason(TIMEOUT),
                                      EXPIRED if code in (None, TIMEOUT) else FAILED)
        if outcome.notify:
            queue_notice(ctx, payment_id)
    return ids


def _query_stk(ctx: Context, payment_id: int) -> tuple[str | None, str | None]:
    attempt = _attempt(ctx, payment_id)
    if attempt is None or not attempt.provider_reference:
        return None, None
    config = load_provider_config(ctx, attempt.tenant_id)
    try:
        result = daraja_client(ctx, config).stk_query(
            shortcode=str(config.get("mpesa_shortcode")), passkey=str(config.get("mpesa_passkey")),
            checkout_request_id=attempt.provider_reference)
    except DarajaError as error:
        log.warning("STK query for payment %s failed: %s", payment_id, error)
        return None, None
    if result.pending:
        return None, None
    return result.result_code, mpesa_reason(result.result_code or "", result.result_desc)



