"""Tenants: routing a WhatsApp number to its merchant, creating merchants, their settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.clock import DEFAULT_TIMEZONE

from backend.services.platform.audit import record_audit
from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.money import minor_unit_digits
from backend.domain.phones import to_e164
from backend.domain.tenant_settings import (
    LANGUAGES,
    TENANT_STATUSES,
    default_business_hours,
    is_timezone,
    load_business_hours,
    load_features,
    load_quiet_hours,
)
from backend.models import Tenant
from backend.services.platform.tiers import change_tier, get_tier

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
    status: str
    tier: str
    timezone: str
    quiet_hours: dict[str, str] | None
    business_hours: dict[str, Any]
    features: dict[str, Any]


@dataclass(frozen=True)
class TenantSettings:
    """A tenant as its merchant sees it (no secrets)."""

    id: str
    name: str
    whatsapp_number: str
    status: str
    tier: str
    currency: str
    timezone: str
    primary_language: str
    business_hours: dict[str, Any]
    quiet_hours: dict[str, str] | None
    features: dict[str, Any]
    created_at: datetime


# What a merchant may change about its own tenant; the operator may also change PLAN_FIELDS.
SETTINGS_FIELDS = (
    "name",
    "timezone",
    "primary_language",
    "business_hours",
    "quiet_hours",
    "features",
)
PLAN_FIELDS = ("tier", "status")


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
    timezone: str = DEFAULT_TIMEZONE
    tier: str = "starter"
    status: str = "active"
    business_hours: dict[str, Any] = field(default_factory=default_business_hours)
    quiet_hours: dict[str, str] | None = None
    features: dict[str, Any] | None = None  # None: the defaults


def require_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"Unknown tenant {tenant_id!r}")
    return tenant


def is_sandbox_tenant(ctx: Context, tenant_id: str) -> bool:
    """True for a sandbox tenant (its messages go to the simulators); False for any other id."""
    if not tenant_id or len(tenant_id) > 64:
        return False
    with ctx.db.transaction() as session:
        return bool(session.scalar(select(Tenant.sandbox).where(Tenant.id == tenant_id)))


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
            status=tenant.status,
            tier=tenant.tier,
            timezone=tenant.timezone,
            quiet_hours=tenant.quiet_hours,
            business_hours=tenant.business_hours,
            features=tenant.features,
        )


def _settings_view(tenant: Tenant) -> TenantSettings:
    return TenantSettings(
        id=tenant.id,
        name=tenant.name,
        whatsapp_number=tenant.whatsapp_number,
        status=tenant.status,
        tier=tenant.tier,
        currency=tenant.currency,
        timezone=tenant.timezone,
        primary_language=tenant.primary_language,
        business_hours=tenant.business_hours,
        quiet_hours=tenant.quiet_hours,
        features=tenant.features,
        created_at=tenant.created_at,
    )


def get_settings(ctx: Context, tenant_id: str) -> TenantSettings:
    with ctx.db.transaction() as session:
        return settings_in(session, tenant_id)


def settings_in(session: Session, tenant_id: str) -> TenantSettings:
    """get_settings in `session`."""
    return _settings_view(require_tenant(session, tenant_id))


def update_settings(
    ctx: Context, tenant_id: str, changes: dict[str, Any], *, as_operator: bool = False
) -> TenantSettings:
    """Apply validated changes; only the platform operator may change the tier or the status.

    `features` is merged into the current flags; `business_hours` and `quiet_hours` replace
    theirs (quiet_hours None removes them).
    """
    allowed = SETTINGS_FIELDS + (PLAN_FIELDS if as_operator else ())
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise InvalidInput(
            f"These settings cannot be changed here: {', '.join(refused)}",
            {name: ["Only the platform operator can change this."] for name in refused},
        )
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        before = _settings_view(tenant)
        checked = _checked(changes, tenant)
        if "tier" in checked:
            change_tier(session, tenant, checked.pop("tier"))
        for name, value in checked.items():
            setattr(tenant, name, value)
        session.flush()
        after = _settings_view(tenant)
        record_audit(session, tenant_id, None, "tenant.update", ("tenant", tenant_id),
                     before, after)
        return after


def _checked(changes: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    """Validate each setting the way the database will store it."""
    checked = dict(changes)
    if "status" in changes and changes["status"] not in TENANT_STATUSES:
        raise InvalidInput(f"Unknown status {changes['status']!r}")
    if "timezone" in changes and not is_timezone(changes["timezone"]):
        raise InvalidInput(f"{changes['timezone']!r} is not an IANA timezone name")
    if "primary_language" in changes and changes["primary_language"] not in LANGUAGES:
        raise InvalidInput(f"primary_language must be one of {', '.join(LANGUAGES)}")
    if "business_hours" in changes:
        checked["business_hours"] = load_business_hours(changes["business_hours"])
    if "quiet_hours" in changes:
        checked["quiet_hours"] = load_quiet_hours(changes["quiet_hours"])
    if "features" in changes:
        current = tenant.features if tenant is not None else None
        checked["features"] = load_features(changes["features"], current)
    return checked


def _validate(new: NewTenant) -> None:
    if not TENANT_ID.match(new.id):
        raise InvalidInput(f"Tenant id must be a lowercase slug, got {new.id!r}")
    if not ACCOUNT_SID.match(new.twilio_account_sid):
        raise InvalidInput("twilio_account_sid must be 'AC' followed by 32 hex digits")
    minor_unit_digits(new.currency)


def ensure_tenant(ctx: Context, new: NewTenant) -> bool:
    """Create the tenant unless one with that id exists (then nothing changes); True if created."""
    with ctx.db.transaction() as session:
        return add_tenant(ctx, session, new)


def add_tenant(ctx: Context, session: Session, new: NewTenant) -> bool:
    """ensure_tenant inside the caller's transaction (the operator adds its onboarding record)."""
    _validate(new)
    settings = _checked(
        {
            "tier": new.tier,
            "status": new.status,
            "timezone": new.timezone,
            "primary_language": new.primary_language,
            "business_hours": new.business_hours,
            "quiet_hours": new.quiet_hours,
            "features": new.features or {},
        },
        None,
    )
    number = to_e164(new.whatsapp_number, field="whatsapp_number")
    if session.get(Tenant, new.id) is not None:
        return False
    get_tier(session, new.tier)  # an unknown tier is a clear 400, not a foreign-key error
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
            currency=new.currency,
            **settings,
        )
    )
    session.flush()
    return True
