"""Tenants: routing a WhatsApp number to its merchant, and creating merchants."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.context import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.money import minor_unit_digits
from backend.domain.phones import to_e164
from backend.models import Tenant

TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")


@dataclass(frozen=True)
class TenantRouting:
    """What the channel needs to serve a tenant's number (includes the decrypted auth token)."""

    tenant_id: str
    name: str
    whatsapp_number: str
    twilio_account_sid: str
    twilio_auth_token: str
    sandbox: bool
    primary_language: str


@dataclass(frozen=True)
class NewTenant:
    id: str
    name: str
    whatsapp_number: str
    twilio_account_sid: str
    twilio_auth_token: str
    sandbox: bool = True
    primary_language: str = "en"
    currency: str = "KES"
    timezone: str = "Africa/Nairobi"


def require_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"Unknown tenant {tenant_id!r}")
    return tenant


def resolve_by_number(ctx: Context, number: str) -> TenantRouting:
    """Find the tenant owning a WhatsApp number ('whatsapp:+2547…', '+2547…', '07…')."""
    e164 = to_e164(number, field="number")
    with ctx.db.transaction() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.whatsapp_number == e164))
        if tenant is None:
            raise NotFound(f"No tenant uses the WhatsApp number {e164}")
        return TenantRouting(
            tenant_id=tenant.id,
            name=tenant.name,
            whatsapp_number=tenant.whatsapp_number,
            twilio_account_sid=tenant.twilio_account_sid,
            twilio_auth_token=ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted),
            sandbox=tenant.sandbox,
            primary_language=tenant.primary_language,
        )


def _validate(new: NewTenant) -> None:
    if not TENANT_ID.match(new.id):
        raise InvalidInput(f"Tenant id must be a lowercase slug, got {new.id!r}")
    if not ACCOUNT_SID.match(new.twilio_account_sid):
        raise InvalidInput("twilio_account_sid must be 'AC' followed by 32 hex digits")
    minor_unit_digits(new.currency)


def ensure_tenant(ctx: Context, new: NewTenant) -> bool:
    """Create the tenant unless one with that id exists (then nothing changes); True if created."""
    _validate(new)
    number = to_e164(new.whatsapp_number, field="whatsapp_number")
    with ctx.db.transaction() as session:
        if session.get(Tenant, new.id) is not None:
            return False
        if session.scalar(select(Tenant.id).where(Tenant.whatsapp_number == number)):
            raise Conflict(f"{number} already belongs to another tenant")
        session.add(
            Tenant(
                id=new.id,
                name=new.name,
                whatsapp_number=number,
                twilio_account_sid=new.twilio_account_sid,
                twilio_auth_token_encrypted=ctx.crypto.encrypt(new.twilio_auth_token),
                sandbox=new.sandbox,
                primary_language=new.primary_language,
                currency=new.currency,
                timezone=new.timezone,
            )
        )
        return True
