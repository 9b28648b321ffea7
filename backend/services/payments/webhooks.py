"""Provider callbacks: stored once under (provider, event id) while the request waits only for
that insert, then applied in a job (payment locked, applied once, amounts compared)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pii.masking import mask_payload

from backend.wiring import Context
from backend.domain.payments import (
    AWAITING_CUSTOMER,
    MPESA_MANUAL,
    mpesa_reason,
    order_id_from_reference,
    stk_amount_shillings,
)
from backend.models import Order, Payment, PaymentEvent, PaymentSettings
from backend.models.base import utcnow
from backend.providers import daraja, pesapal
from backend.queueing.names import PROCESS_PAYMENT_EVENT
from backend.services.payments.settings import base_url, load_provider_config
from backend.services.payments.payments import Outcome, fail_locked, queue_notice, succeed_locked
from backend.services.payments.refunds import finish_refund
from backend.services.payments.wallets import finish_payout

log = logging.getLogger(__name__)
# A callback can overtake the answer that told us its reference: wait this long before
# calling a reference unknown.
UNKNOWN_REFERENCE_GRACE = timedelta(minutes=2)
STALE_EVENT = timedelta(minutes=1)


class ReferenceNotYetKnown(Exception):
    """Retry later: the payment this callback names may not have its reference stored yet."""


class NotYetFinal(Exception):
    """Retry later: the provider does not know the outcome yet (a Pesapal IPN while pending)."""


@dataclass(frozen=True)
class StoredEvent:
    id: int
    duplicate: bool


def store_event(ctx: Context, provider: str, event_id: str, kind: str, payload: dict[str, Any],
                tenant_id: str | None = None, callback_token: str | None = None
                ) -> StoredEvent | None:
    """Insert the event once; a repeat (same provider and event id) is reported, not stored.

    With `callback_token` the tenant is the one whose callback URLs carry it, found in the
    same transaction (None when no tenant does: nothing is stored). Phones in the payload
    (Daraja's MSISDN and PhoneNumber, …) are stored masked: nothing reads them back."""
    event_id = event_id[:200]
    payload = mask_payload(payload)
    with ctx.db.transaction() as session:
        if callback_token is not None:
            tenant_id = session.scalar(select(PaymentSettings.tenant_id).where(
                PaymentSettings.callback_token_hash == ctx.crypto.keyed_hash(callback_token)))
            if tenant_id is None:
                return None
        postgres = ctx.db.engine.dialect.name == "postgresql"
        insert = postgresql_insert if postgres else sqlite_insert
        # One statement either way: a repeated delivery is not an error to recover from.
        new_id = session.scalar(
            insert(PaymentEvent).values(
                provider=provider, event_id=event_id, kind=kind, payload=payload,
                tenant_id=tenant_id, status="received", received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(PaymentEvent.id))
        if new_id is not None:
            return StoredEvent(int(new_id), duplicate=False)
        existing = session.scalar(select(PaymentEvent.id).where(
            PaymentEvent.provider == provider, PaymentEvent.event_id == event_id))
        assert existing is not None
        return StoredEvent(int(existing), duplicate=True)


def enqueue_event(ctx: Context, event_id: int) -> None:
    ctx.jobs.enqueue(PROCESS_PAYMENT_EVENT, event_id)


def process_event(ctx: Context, event_id: int, final_attempt: bool) -> str:
    """Apply one stored event (a no-op when already done); returns the event's final status."""
    with ctx.db.transaction() as session:
        event = session.get(PaymentEvent, event_id, with_for_update=True)
        if event is None:
            raise LookupError(f"No payment event {event_id}")
        if event.status != "received":
            return event.status
        provider, kind, payload, tenant_id = (event.provider, event.kind, dict(event.payload),
                                              event.tenant_id)
        if provider != "pesapal" and kind != "b2c_result":
            outcome = _apply_or_wait(session, event, final_attempt, None)
    if kind == "b2c_result":
        return _finish(ctx, event_id, _b2c(ctx, payload), None)
    if provider == "pesapal":
        try:
            confirmation = _pesapal_status(ctx, tenant_id, payload)  # network: outside any lock
        except pesapal.UnknownOrder as error:  # final: not retried, no traceback
            log.warning("pesapal event %s: Pesapal has no such order (%s)", event_id, error)
            return _finish(ctx, event_id, "unknown_reference", None)
        with ctx.db.transaction() as session:
            event = session.get(PaymentEvent, event_id, with_for_update=True)
            assert event is not None
            if event.status != "received":
                return event.status
            outcome = _apply_or_wait(session, event, final_attempt, confirmation)
    if outcome.result == "unknown_reference":
        log.warning("%s event %s names no known payment: %s", provider, event_id, payload)
    if outcome.notify and outcome.payment_id:
        queue_notice(ctx, outcome.payment_id)
    return _event_status(outcome.result)


def _apply_or_wait(session: Session, event: PaymentEvent, final_attempt: bool,
                   confirmation: pesapal.PesapalStatus | None) -> Outcome:
    try:
        outcome = _apply(session, event.provider, event.kind, dict(event.payload),
                         event.tenant_id, confirmation)
    except ReferenceNotYetKnown:
        young = utcnow() - event.received_at < UNKNOWN_REFERENCE_GRACE
        if young and not final_attempt:
            raise
        outcome = Outcome("unknown_reference")
    except NotYetFinal:
        if not final_attempt:
            raise
        # Pesapal's IPNs carry no event id: free this one's key so the next IPN is stored.
        event.event_id = f"{event.event_id}#{event.id}"[:200]
        outcome = Outcome("ignored")
    event.status = _event_status(outcome.result)
    event.payment_id = outcome.payment_id
    event.detail = outcome.result
    event.processed_at = utcnow()
    return outcome


def _finish(ctx: Context, event_id: int, result: str, payment_id: int | None) -> str:
    with ctx.db.transaction() as session:
        event = session.get(PaymentEvent, event_id, with_for_update=True)
        assert event is not None
        event.status, event.detail = _event_status(result), result
        event.payment_id, event.processed_at = payment_id, utcnow()
        return event.status


def _event_status(result: str) -> str:
    return {"duplicate": "duplicate", "flagged": "flagged", "unknown_reference":
            "unknown_reference", "ignored": "ignored"}.get(result, "processed")


def _by_reference(session: Session, provider: str, reference: str,
                  tenant_id: str | None) -> Payment:
    query = select(Payment).where(Payment.provider == provider,
                                  Payment.provider_reference == reference)
    if tenant_id is not None:
        query = query.where(Payment.tenant_id == tenant_id)
    payment = session.scalar(query.with_for_update())
    if payment is None:
        raise ReferenceNotYetKnown(reference)
    return payment


def _apply(session: Session, provider: str, kind: str, payload: dict[str, Any],
           tenant_id: str | None, confirmation: pesapal.PesapalStatus | None) -> Outcome:
    if provider == "daraja" and kind == "stk_callback":
        callback = daraja.parse_stk_callback(payload)
        payment = _by_reference(session, "daraja", callback.checkout_request_id, tenant_id)
        if callback.result_code == "0":
            return succeed_locked(session, payment, callback.amount_minor, "KES",
                                  callback.receipt)
        return fail_locked(payment, callback.result_code,
                           mpesa_reason(callback.result_code, callback.result_desc))
    if provider == "daraja" and kind == "c2b_confirmation":
        return _c2b(session, daraja.parse_c2b(payload), tenant_id)
    if provider == "paystack":
        data = payload.get("data") or {}
        payment = _by_reference(session, "paystack", str(data.get("reference")), tenant_id)
        if payload.get("event") == "charge.success" and data.get("status") == "success":
            return succeed_locked(session, payment, int(data.get("amount") or 0),
                                  str(data.get("currency") or ""), str(data.get("id") or "")
                                  or None)
        return fail_locked(payment, "card_declined", "The card payment was declined")
    if provider == "stripe":
        return _stripe(session, payload, tenant_id)
    if provider == "pesapal" and confirmation is not None:
        payment = _by_reference(session, "pesapal", str(payload["OrderTrackingId"]), tenant_id)
        if confirmation.status_code == pesapal.COMPLETED:
            return succeed_locked(session, payment, confirmation.amount_minor,
                                  confirmation.currency, confirmation.confirmation_code)
        if confirmation.status_code in (pesapal.FAILED, pesapal.REVERSED):
            return fail_locked(payment, "card_declined",
                               confirmation.description or "The card payment failed")
        raise NotYetFinal(str(payload["OrderTrackingId"]))
    return Outcome("ignored")


def _stripe(session: Session, event: dict[str, Any], tenant_id: str | None) -> Outcome:
    kind = event.get("type")
    session_object = (event.get("data") or {}).get("object") or {}
    handled = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
               "checkout.session.async_payment_failed", "checkout.session.expired")
    if kind not in handled:
        return Outcome("ignored")
    payment = _by_reference(session, "stripe", str(session_object.get("id")), tenant_id)
    paid = session_object.get("payment_status") == "paid"
    if kind in handled[:2] and paid:
        return succeed_locked(session, payment, int(session_object.get("amount_total") or 0),
                              str(session_object.get("currency") or ""),
                              str(event.get("id")))
    if kind == "checkout.session.completed":
        return Outcome("ignored", payment.id)  # asynchronous method: wait for its outcome
    return fail_locked(payment, "card_declined", "The card payment did not complete")


def _c2b(session: Session, confirmation: daraja.C2BConfirmation,
         tenant_id: str | None) -> Outcome:
    """Money paid to the paybill/till by hand: matched to the order its account names."""
    order_id = order_id_from_reference(confirmation.bill_ref)
    order = session.get(Order, order_id) if order_id else None
    if order is None or (tenant_id is not None and order.tenant_id != tenant_id):
        return Outcome("unknown_reference")
    same_receipt = session.scalar(select(Payment).where(
        Payment.provider.in_(("manual", "daraja")), Payment.receipt == confirmation.transaction_id))
    if same_receipt is not None:
        return Outcome("duplicate", same_receipt.id)
    payment = session.scalar(select(Payment).where(
        Payment.order_id == order.id, Payment.method == MPESA_MANUAL,
        Payment.status == AWAITING_CUSTOMER).order_by(Payment.id.desc()).with_for_update())
    if payment is None:
        payment = Payment(tenant_id=order.tenant_id, order_id=order.id,
                          customer_id=order.customer_id, method=MPESA_MANUAL, provider="manual",
                          status=AWAITING_CUSTOMER, currency=order.currency,
                          amount_minor=stk_amount_shillings(max(order.total_minor, 1)) * 100)
        session.add(payment)
        session.flush()
    payment.provider_reference = confirmation.transaction_id
    return succeed_locked(session, payment, confirmation.amount_minor, "KES",
                          confirmation.transaction_id)


def knows_provider_reference(ctx: Context, tenant_id: str, provider: str, reference: str
                             ) -> bool:
    """Whether this tenant has a payment with this provider reference (a Pesapal IPN naming
    none is not Pesapal's: the order it names was never submitted by this shop)."""
    with ctx.db.transaction() as session:
        return session.scalar(select(Payment.id).where(
            Payment.tenant_id == tenant_id, Payment.provider == provider,
            Payment.provider_reference == reference[:200]).limit(1)) is not None


def c2b_validation(ctx: Context, tenant_id: str, payload: dict[str, Any]) -> dict[str, str]:
    """Accept a paybill payment only for a pending order of this shop at its exact amount."""
    try:
        confirmation = daraja.parse_c2b(payload)
    except (KeyError, ValueError):
        return {"ResultCode": "C2B00016", "ResultDesc": "Rejected"}
    order_id = order_id_from_reference(confirmation.bill_ref)
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id) if order_id else None
        if order is None or order.tenant_id != tenant_id or order.status != "pending_payment":
            return {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
        if confirmation.amount_minor != stk_amount_shillings(order.total_minor) * 100:
            return {"ResultCode": "C2B00013", "ResultDesc": "Rejected"}
    return {"ResultCode": "0", "ResultDesc": "Accepted"}


def _pesapal_status(ctx: Context, tenant_id: str | None, payload: dict[str, Any]
                    ) -> pesapal.PesapalStatus:
    """IPNs carry no status: ask GetTransactionStatus (an outage raises: the job retries)."""
    assert tenant_id is not None
    config = load_provider_config(ctx, tenant_id)
    client = pesapal.PesapalClient(base_url(ctx.settings, config, "pesapal"),
                                   str(config.get("pesapal_consumer_key") or ""),
                                   str(config.get("pesapal_consumer_secret") or ""))
    return client.transaction_status(str(payload["OrderTrackingId"]))


def _b2c(ctx: Context, payload: dict[str, Any]) -> str:
    """A withdrawal's payout or a customer's refund: both go out from the platform's B2C
    account and come back to the same result URL."""
    result = daraja.parse_b2c_result(payload)
    done = finish_payout(ctx, result.originator_conversation_id, result.result_code == "0",
                         result.result_desc, result.transaction_id)
    if done != "unknown_reference":
        return done
    return finish_refund(ctx, result.originator_conversation_id, result.result_code == "0",
                         result.result_desc, result.transaction_id)


def requeue_stale_events(ctx: Context) -> list[int]:
    """Events stored but never processed (the queue was down when they came): queue again."""
    cutoff = utcnow() - STALE_EVENT
    with ctx.db.transaction() as session:
        ids = list(session.scalars(select(PaymentEvent.id).where(
            PaymentEvent.status == "received", PaymentEvent.received_at < cutoff).limit(500)))
    for event_id in ids:
        enqueue_event(ctx, event_id)
    return ids


