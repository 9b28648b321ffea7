"""Billing reminders to a shop's owner: recorded once per key (GET /v1/subscription/reminders
lists them) and sent on WhatsApp from the platform's own number (PLATFORM_WHATSAPP_NUMBER,
through the platform's Twilio account) to the tenant's billing phone, in its language."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import BillingReminder, Tenant
from backend.models.base import utcnow
from backend.providers.twilio import TwilioSendError
from backend.services.platform.platform_whatsapp import (
    platform_sender_configured,
    send_from_platform,
)
from backend.wiring import Context
from kit import texts


def add_reminder(session: Session, tenant: Tenant, key: str, kind: str, invoice_id: int | None,
                 text_name: str, **values: Any) -> int | None:
    """Record a reminder unless one with `key` exists; its id when recorded (then send it)."""
    if session.scalar(select(BillingReminder.id).where(BillingReminder.key == key)):
        return None
    body = texts.text(text_name, tenant.primary_language).format(shop=tenant.name, **values)
    try:
        with session.begin_nested():
            row = BillingReminder(tenant_id=tenant.id, key=key, kind=kind, invoice_id=invoice_id,
                                  body=body, status="queued")
            session.add(row)
    except IntegrityError:  # a concurrent run recorded it
        return None
    return row.id


def send_reminder(ctx: Context, reminder_id: int, final_attempt: bool = True) -> str:
    """Send one queued reminder (the job); transient Twilio failures are retried."""
    with ctx.db.transaction() as session:
        row = session.get(BillingReminder, reminder_id)
        tenant = session.get(Tenant, row.tenant_id) if row else None
        if row is None or tenant is None or row.status != "queued":
            return "skipped"
        phone = (ctx.crypto.decrypt(tenant.billing_phone_encrypted)
                 if tenant.billing_phone_encrypted else None)
        body = row.body
    if phone is None or not platform_sender_configured(ctx):
        why = ("no billing phone is set" if phone is None else
               "PLATFORM_WHATSAPP_NUMBER and PLATFORM_TWILIO_* are not set")
        return _finish(ctx, reminder_id, "unsent", why)
    try:
        sent = send_from_platform(ctx, phone, body)
    except TwilioSendError as error:
        if error.transient and not final_attempt:
            raise
        return _finish(ctx, reminder_id, "failed", str(error))
    return _finish(ctx, reminder_id, "sent", None, sent.sid)


def _finish(ctx: Context, reminder_id: int, status: str, detail: str | None,
            sid: str | None = None) -> str:
    with ctx.db.transaction() as session:
        row = session.get(BillingReminder, reminder_id, with_for_update=True)
        if row is not None and row.status == "queued":
            row.status, row.detail, row.message_sid = status, (detail or None) and detail[:200], sid
            row.sent_at = utcnow() if status == "sent" else None
    return status
