"""Refunds of customers' payments (a booking's deposit given back): one per payment, recorded
in the transaction that decides it, sent by a job (never in a request) through the payment's
own rail — M-Pesa B2C from the platform's payout account to the payer's phone, or the card
provider's refund (Paystack, Stripe) — and reversed on the ledger (the payment's credit and fee
undone) once the money has gone back.

Once only, however often things repeat: the refund row is unique per payment; the job claims it
(pending → sent) before calling the provider, so a job queued twice calls once; the B2C result
is stored once per OriginatorConversationID (webhooks) and applied only to a refund still in
flight; the ledger refuses a second reversal of one payment (unique kind + payment).

Stripe Checkout payments are refunded through their PaymentIntent. Pesapal and a merchant's own
link: not refunded automatically here; the refund is failed with that reason and the payment
flagged for review (the merchant refunds by hand)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.ledger import PAYMENT, REFUND, Leg, reversed_legs
from backend.domain.orders import PAID, REFUNDED
from backend.domain.payments import SUCCEEDED, kenyan_mobile
from backend.models import (
    Customer,
    LedgerAccount,
    LedgerTransaction,
    Order,
    Payment,
    Refund,
)
from backend.models.base import utcnow
from backend.providers import paystack, stripe_checkout
from backend.providers.daraja import DarajaError
from backend.queueing.names import SEND_REFUND
from backend.queueing.runner import JobQueueUnavailable
from backend.services.conversations.automatic import note_event, queue_event
from backend.services.payments.payouts import b2c_client, b2c_setting
from backend.services.payments.settings import base_url, load_provider_config, payout_token
from backend.services.payments.wallets import post_transaction

log = logging.getLogger(__name__)
PENDING, SENT, SUCCEEDED_REFUND, FAILED = "pending", "sent", "succeeded", "failed"
MPESA_PROVIDERS = ("daraja", "manual")


@dataclass(frozen=True)
class RefundView:
    id: int
    payment_id: int
    status: str
    amount_minor: int
    currency: str
    provider: str
    reason: str
    failure_reason: str | None


def _view(row: Refund) -> RefundView:
    return RefundView(row.id, row.payment_id, row.status, row.amount_minor, row.currency,
                      row.provider, row.reason, row.failure_reason)


def request_refund(session: Session, payment: Payment, reason: str) -> int | None:
    """In the caller's transaction: a refund of this succeeded payment in full; None when the
    payment already has one (or is not a success). Queue it after the commit (queue_refund),
    or leave it to the payment sweep."""
    if payment.status != SUCCEEDED:
        return None
    if session.scalar(select(Refund.id).where(Refund.payment_id == payment.id)) is not None:
        return None
    row = Refund(tenant_id=payment.tenant_id, payment_id=payment.id, provider=payment.provider,
                 status=PENDING, amount_minor=payment.amount_minor, currency=payment.currency,
                 reason=reason, originator_conversation_id=f"rf-{uuid.uuid4().hex}")
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None  # a concurrent transaction recorded it
    return row.id


def queue_refund(ctx: Context, refund_id: int) -> None:
    try:
        ctx.jobs.enqueue(SEND_REFUND, refund_id)
    except JobQueueUnavailable as error:
        log.warning("refund %s not queued now (the payment sweep queues it): %s", refund_id,
                    error)


def pending_refunds(ctx: Context, limit: int = 500) -> list[int]:
    """Refunds recorded and not yet sent (their job lost, or recorded where no job could be
    queued, as when a payment lands on a released booking): the payment sweep queues them."""
    with ctx.db.transaction() as session:
        return list(session.scalars(select(Refund.id).where(Refund.status == PENDING)
                                    .order_by(Refund.id).limit(limit)))


def refunds_of_payment(ctx: Context, tenant_id: str, payment_id: int) -> list[RefundView]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(Refund).where(Refund.tenant_id == tenant_id,
                                                    Refund.payment_id == payment_id))
        return [_view(r) for r in rows]


@dataclass(frozen=True)
class _Claim:
    refund_id: int
    tenant_id: str
    provider: str
    amount_minor: int
    originator_conversation_id: str
    phone: str | None
    transaction_reference: str | None


def _claim(ctx: Context, refund_id: int) -> _Claim | None:
    """pending → sent, once; None when another run has it or it is done."""
    with ctx.db.transaction() as session:
        taken = session.execute(
            update(Refund).where(Refund.id == refund_id, Refund.status == PENDING)
            .values(status=SENT, updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            return None
        row = session.get(Refund, refund_id)
        payment = session.get(Payment, row.payment_id) if row is not None else None
        assert row is not None and payment is not None
        phone = None
        if row.provider in MPESA_PROVIDERS:
            token = payment.phone_encrypted
            if token is None:
                customer = session.get(Customer, payment.customer_id)
                token = customer.phone_encrypted if customer is not None else None
            phone = ctx.crypto.decrypt(token) if token else None
        return _Claim(row.id, row.tenant_id, row.provider, row.amount_minor,
                      row.originator_conversation_id, phone, payment.provider_reference)


def _unclaim(ctx: Context, refund_id: int) -> None:
    with ctx.db.transaction() as session:
        session.execute(update(Refund).where(Refund.id == refund_id, Refund.status == SENT,
                                             Refund.conversation_id.is_(None))
                        .values(status=PENDING).execution_options(synchronize_session=False))


def send_refund(ctx: Context, refund_id: int, final_attempt: bool) -> str:
    """The job: send one refund once. An outage is retried (the claim given back) until the
    last attempt, which fails it; a refusal fails it at once (flagged for review)."""
    claim = _claim(ctx, refund_id)
    if claim is None:
        return "skipped"
    if claim.provider in MPESA_PROVIDERS:
        return _send_b2c(ctx, claim, final_attempt)
    if claim.provider == "paystack":
        return _send_paystack(ctx, claim, final_attempt)
    if claim.provider == "stripe":
        return _send_stripe(ctx, claim, final_attempt)
    return finish_refund(ctx, claim.originator_conversation_id, False,
                         f"{claim.provider} payments are not refunded automatically: refund "
                         "it by hand")


def _send_b2c(ctx: Context, claim: _Claim, final_attempt: bool) -> str:
    if not claim.phone:
        return finish_refund(ctx, claim.originator_conversation_id, False,
                             "No phone number to send the refund to")
    root = f"{ctx.settings.public_url}/webhooks/mpesa/payouts/{payout_token(ctx)}"
    try:
        answer = b2c_client(ctx).b2c_payment(
            originator_conversation_id=claim.originator_conversation_id,
            initiator=b2c_setting(ctx, "initiator"),
            security_credential=b2c_setting(ctx, "security_credential"),
            amount_shillings=claim.amount_minor // 100, party_a=b2c_setting(ctx, "shortcode"),
            party_b=kenyan_mobile(claim.phone).lstrip("+"),
            remarks=f"Refund {claim.refund_id}", queue_timeout_url=f"{root}/timeout",
            result_url=f"{root}/result", occasion=claim.tenant_id)
    except DarajaError as error:
        transient = error.status is None or error.status >= 500
        if transient and not final_attempt:
            _unclaim(ctx, claim.refund_id)
            raise
        return finish_refund(ctx, claim.originator_conversation_id, False,
                             f"B2C refused: {error}")
    with ctx.db.transaction() as session:
        session.execute(update(Refund).where(Refund.id == claim.refund_id,
                                             Refund.conversation_id.is_(None))
                        .values(conversation_id=str(answer.get("ConversationID") or "")[:100])
                        .execution_options(synchronize_session=False))
    return "sent"


def _send_paystack(ctx: Context, claim: _Claim, final_attempt: bool) -> str:
    if not claim.transaction_reference:
        return finish_refund(ctx, claim.originator_conversation_id, False,
                             "The card payment has no transaction reference to refund")
    config = load_provider_config(ctx, claim.tenant_id)
    client = paystack.PaystackClient(str(config.get("paystack_secret_key") or ""),
                                     base_url(ctx.settings, config, "paystack"))
    try:
        refund = client.refund(claim.transaction_reference, amount_minor=claim.amount_minor,
                               merchant_note=f"Refund {claim.refund_id}")
        reference = refund.id
    except paystack.PaystackError as error:
        if paystack.FULLY_REVERSED in str(error).lower():
            reference = None  # an earlier call went through; its answer was lost
        elif (error.status is None or error.status >= 500) and not final_attempt:
            _unclaim(ctx, claim.refund_id)
            raise
        else:
            return finish_refund(ctx, claim.originator_conversation_id, False,
                                 f"Paystack refused the refund: {error}")
    return finish_refund(ctx, claim.originator_conversation_id, True, "refunded by Paystack",
                         reference)


def _send_stripe(ctx: Context, claim: _Claim, final_attempt: bool) -> str:
    if not claim.transaction_reference:
        return finish_refund(ctx, claim.originator_conversation_id, False,
                             "The card payment has no checkout session to refund")
    config = load_provider_config(ctx, claim.tenant_id)
    reference: str | None
    try:
        reference = stripe_checkout.refund_session(
            secret_key=str(config.get("stripe_secret_key") or ""),
            base_url=base_url(ctx.settings, config, "stripe"),
            session_id=claim.transaction_reference, amount_minor=claim.amount_minor)
    except stripe_checkout.StripeAlreadyRefunded:
        reference = None  # an earlier call went through; its answer was lost
    except stripe_checkout.StripeRefundRefused as error:
        return finish_refund(ctx, claim.originator_conversation_id, False, str(error))
    except stripe_checkout.StripeCheckoutError:
        if not final_attempt:
            _unclaim(ctx, claim.refund_id)
            raise
        return finish_refund(ctx, claim.originator_conversation_id, False,
                             "Stripe did not answer the refund")
    return finish_refund(ctx, claim.originator_conversation_id, True, "refunded by Stripe",
                         reference)


def _payment_legs(session: Session, payment_id: int) -> list[Leg] | None:
    credit = session.scalar(select(LedgerTransaction).where(
        LedgerTransaction.kind == PAYMENT, LedgerTransaction.payment_id == payment_id))
    if credit is None:
        return None
    keys = dict(session.execute(select(LedgerAccount.id, LedgerAccount.key).where(
        LedgerAccount.id.in_({e.account_id for e in credit.entries}))).all())
    return [Leg(keys[e.account_id], e.amount_minor) for e in credit.entries]


def finish_refund(ctx: Context, originator_conversation_id: str, succeeded: bool, reason: str,
                  transaction_id: str | None = None) -> str:
    """Apply a refund's outcome once: succeeded (the payment's credit reversed on the ledger,
    its paid order refunded) or failed (the payment flagged for review). "unknown_reference"
    when no refund has this id (a withdrawal's B2C result), "duplicate" when already final."""
    with ctx.db.transaction() as session:
        row = session.scalar(select(Refund).where(
            Refund.originator_conversation_id == originator_conversation_id).with_for_update())
        if row is None:
            return "unknown_reference"
        if row.status not in (PENDING, SENT):
            return "duplicate"
        payment = session.get(Payment, row.payment_id, with_for_update=True)
        assert payment is not None
        if not succeeded:
            row.status, row.failure_reason = FAILED, reason
            payment.review_reason = f"Refund {row.id} failed: {reason}"
            log.warning("refund %s of payment %s failed: %s", row.id, payment.id, reason)
            return "processed"
        row.status, row.provider_reference = SUCCEEDED_REFUND, (transaction_id or None)
        legs = _payment_legs(session, payment.id)
        if legs is not None:
            post_transaction(session, row.tenant_id, REFUND, reversed_legs(legs), row.currency,
                             payment_id=payment.id,
                             description=f"Refund {row.id} of payment {payment.id}: {row.reason}")
        order = session.get(Order, payment.order_id, with_for_update=True)
        noted = None
        if order is not None:
            if order.status == PAID:
                order.status = REFUNDED
            # The customer is told the money is back (also for a deposit paid after its hold
            # was released, whose order was already cancelled).
            noted = note_event(session, row.tenant_id, "order_refunded", order.id,
                               order.customer_id)
    if noted is not None:
        queue_event(ctx, noted)
    return "processed"
