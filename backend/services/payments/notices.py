"""Telling the customer how their payment ended, inside their conversation: the backend
triggers an external intent on Rasa and queues what the bot answers as WhatsApp messages.
The trigger carries the payment's details (its entities), so the action answers without calling
back. When Rasa cannot be reached after the last retry (or answers nothing), a plain confirmation
in the customer's language (kit/texts.yml) goes out instead, so no customer is left without a
receipt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kit import texts
from kit.sender import sender_id
from kit.whatsapp_text import whatsapp_messages

from backend.wiring import Context
from backend.domain.notifications import is_on
from backend.domain.payments import SUCCEEDED, order_reference
from backend.models import Customer, Payment, Tenant
from backend.models.base import utcnow
from backend.providers.rasa import RasaClient, RasaError
from backend.domain.messaging import MessageRefused
from backend.services.conversations.outbound import (
    Delivery,
    OutgoingMessage,
    add_outbound,
    enqueue_delivery,
)

log = logging.getLogger(__name__)
RECEIVED_INTENT = "EXTERNAL_payment_received"
FAILED_INTENT = "EXTERNAL_payment_failed"

@dataclass(frozen=True)
class Notice:
    tenant_id: str
    customer_ref: str  # names the conversation in Rasa; the phone is decrypted only to send
    language: str
    succeeded: bool
    amount_minor: int
    currency: str
    order_id: int
    receipt: str | None
    payment_id: int
    status: str
    provider_reference: str | None
    failure_code: str | None
    switched_on: bool  # features.automatic_messages payment_received / payment_failed


def _notice(ctx: Context, payment_id: int) -> Notice | None:
    with ctx.db.transaction() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.notified_at is not None:
            return None
        customer = session.get(Customer, payment.customer_id)
        tenant = session.get(Tenant, payment.tenant_id)
        assert customer is not None and tenant is not None
        return Notice(payment.tenant_id, customer.ref,
                      customer.language or tenant.primary_language or "en",
                      payment.status == SUCCEEDED, payment.amount_minor, payment.currency,
                      payment.order_id, payment.receipt, payment.id, payment.status,
                      payment.provider_reference, payment.failure_code,
                      is_on(tenant.features, "payment_received" if payment.status == SUCCEEDED
                            else "payment_failed"))


def trigger_entities(notice: Notice) -> dict[str, Any]:
    """The payment as the EXTERNAL_payment_* intent's entities: what action_payment_result says
    (actions/payments.py reads the same names), so it needs no call back to the backend."""
    entities = {
        "payment_id": notice.payment_id, "payment_status": notice.status,
        "payment_amount_minor": notice.amount_minor, "payment_currency": notice.currency,
        "payment_order_id": notice.order_id, "payment_receipt": notice.receipt,
        "payment_provider_reference": notice.provider_reference,
        "payment_failure_code": notice.failure_code,
    }
    return {name: value for name, value in entities.items() if value is not None}


def fallback_text(notice: Notice) -> str:
    reference = order_reference(notice.order_id)
    if not notice.succeeded:
        return texts.text("payments.failed_fallback", notice.language).format(reference=reference)
    receipt = (texts.text("payments.receipt_fallback", notice.language).format(
        receipt=notice.receipt) if notice.receipt else "")
    return texts.text("payments.received_fallback", notice.language).format(
        currency=notice.currency, amount=f"{notice.amount_minor / 100:,.2f}",
        reference=reference, receipt=receipt)


def bot_messages(replies: list[dict[str, Any]]) -> list[OutgoingMessage]:
    """Rasa's replies as WhatsApp messages, worded as the channel words them."""
    return [OutgoingMessage(body=message["body"] or None, media_url=message["media_url"])
            for reply in replies for message in whatsapp_messages(reply)
            if message["body"] or message["media_url"]]


def notify_customer(ctx: Context, payment_id: int, final_attempt: bool) -> str:
    """Trigger the outcome's intent in the customer's conversation and queue the replies;
    "rasa", "fallback" or "skipped". Raises (to be retried) while Rasa is unreachable."""
    notice = _notice(ctx, payment_id)
    if notice is None:
        return "skipped"
    if not notice.switched_on:  # the tenant turned this notice off: handled, nothing sent
        with ctx.db.transaction() as session:
            payment = session.scalar(select(Payment).where(Payment.id == payment_id)
                                     .with_for_update())
            if payment is not None and payment.notified_at is None:
                payment.notified_at = utcnow()
        return "off"
    intent = RECEIVED_INTENT if notice.succeeded else FAILED_INTENT
    sender = sender_id(notice.tenant_id, notice.customer_ref)
    try:
        replies = RasaClient.from_settings(ctx.settings).trigger_intent(
            sender, intent, trigger_entities(notice))
        messages, how = bot_messages(replies), "rasa"
    except RasaError as error:
        if not final_attempt:
            raise
        log.warning("Rasa unreachable for payment %s; sending the plain text: %s",
                    payment_id, error)
        messages, how = [], "fallback"
    if not messages:
        messages, how = [OutgoingMessage(body=fallback_text(notice))], "fallback"
    # The messages and notified_at commit together: a retry after a crash neither loses the
    # notice nor queues it twice. Delivery is enqueued after the commit (the outbox keeps it).
    with ctx.db.transaction() as session:
        payment = session.scalar(select(Payment).where(Payment.id == payment_id)
                                 .with_for_update())
        if payment is None or payment.notified_at is not None:
            return "skipped"
        customer = session.get(Customer, payment.customer_id)
        assert customer is not None
        # The phone is decrypted only here, where the message is queued to be sent.
        phone = ctx.crypto.decrypt(customer.phone_encrypted)
        # A receipt is transactional and urgent: the customer's consent and the 24-hour
        # window apply (a STOP or a closed window: not sent, said why), quiet hours do not.
        try:
            with session.begin_nested():
                ids = add_outbound(session, ctx, notice.tenant_id, phone, messages,
                                   delivery=Delivery(kind="transactional", urgent=True,
                                                     language=notice.language))
        except MessageRefused as refusal:
            log.warning("payment %s notice not sent: %s", payment_id, refusal.reason)
            ids, how = [], f"refused:{refusal.reason}"
        payment.notified_at = utcnow()
    if ids:
        enqueue_delivery(ctx, ids)
    return how
