"""Telling the customer how their payment ended, inside their conversation: the backend
triggers an external intent on Rasa and queues what the bot answers as WhatsApp messages.
When Rasa cannot be reached after the last retry (or answers nothing), a plain confirmation
in the customer's language goes out instead, so no customer is left without a receipt."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from backend.wiring import Context
from backend.domain.payments import SUCCEEDED, order_reference
from backend.models import Customer, Payment, Tenant
from backend.models.base import utcnow
from backend.providers.rasa import RasaClient, RasaError
from backend.services.conversations.handoff import sender_id
from backend.services.conversations.outbound import OutgoingMessage, add_outbound, enqueue_delivery

log = logging.getLogger(__name__)
RECEIVED_INTENT = "EXTERNAL_payment_received"
FAILED_INTENT = "EXTERNAL_payment_failed"

FALLBACK_RECEIVED = {
    "en": "Payment received: {currency} {amount} for order {reference}.{receipt} Thank you!",
    "sw": "Malipo yamepokelewa: {currency} {amount} kwa oda {reference}.{receipt} Asante!",
    "sheng": "Doh imeingia: {currency} {amount} ya order {reference}.{receipt} Asante sana!",
}
FALLBACK_RECEIPT = {
    "en": " M-Pesa receipt: {receipt}.",
    "sw": " Nambari ya risiti ya M-Pesa: {receipt}.",
    "sheng": " Receipt ya M-Pesa: {receipt}.",
}
FALLBACK_FAILED = {
    "en": "Your payment for order {reference} did not go through. Reply \"pay\" to try again.",
    "sw": "Malipo ya oda {reference} hayakufanikiwa. Jibu \"lipa\" ujaribu tena.",
    "sheng": "Payment ya order {reference} haijaenda. Tuma \"lipa\" ujaribu tena.",
}


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
                      payment.order_id, payment.receipt)


def fallback_text(notice: Notice) -> str:
    language = notice.language if notice.language in FALLBACK_RECEIVED else "en"
    reference = order_reference(notice.order_id)
    if not notice.succeeded:
        return FALLBACK_FAILED[language].format(reference=reference)
    receipt = FALLBACK_RECEIPT[language].format(receipt=notice.receipt) if notice.receipt else ""
    return FALLBACK_RECEIVED[language].format(
        currency=notice.currency, amount=f"{notice.amount_minor / 100:,.2f}",
        reference=reference, receipt=receipt)


def bot_messages(messages: list[dict[str, Any]]) -> list[OutgoingMessage]:
    """Rasa's replies as WhatsApp messages (buttons become a numbered list, as in the channel)."""
    out: list[OutgoingMessage] = []
    for message in messages:
        text = message.get("text") or ""
        buttons = message.get("buttons") or []
        if buttons:
            text = "\n".join([text, *(f"{n}. {b.get('title', '')}"
                                      for n, b in enumerate(buttons, start=1))]).strip()
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
        text = text or custom.get("body") or custom.get("text") or ""
        media = message.get("image") or custom.get("media_url")
        if text or media:
            out.append(OutgoingMessage(body=text or None, media_url=media))
    return out


def notify_customer(ctx: Context, payment_id: int, final_attempt: bool) -> str:
    """Trigger the outcome's intent in the customer's conversation and queue the replies;
    "rasa", "fallback" or "skipped". Raises (to be retried) while Rasa is unreachable."""
    notice = _notice(ctx, payment_id)
    if notice is None:
        return "skipped"
    intent = RECEIVED_INTENT if notice.succeeded else FAILED_INTENT
    sender = sender_id(notice.tenant_id, notice.customer_ref)
    try:
        replies = RasaClient.from_settings(ctx.settings).trigger_intent(
            sender, intent, {"payment_id": payment_id})
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
        ids = add_outbound(session, ctx, notice.tenant_id, phone, messages)
        payment.notified_at = utcnow()
    enqueue_delivery(ctx, ids)
    return how
