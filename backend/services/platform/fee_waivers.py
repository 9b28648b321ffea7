"""Per-tenant waivers of the platform fee: for a period or until revoked, each with its reason.

A payment credited while a waiver is in force pays no platform fee (wallets.credit_payment asks
`fee_basis_points_for`); revoking a waiver ends it from then on and leaves past credits alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.models import FeeWaiver
from backend.models.base import utcnow
from backend.services.platform.audit import record_audit
from backend.services.platform.tenants import require_tenant
from backend.services.platform.tiers import get_tier


@dataclass(frozen=True)
class FeeWaiverView:
    id: int
    tenant_id: str
    reason: str
    starts_at: datetime
    ends_at: datetime | None  # None: until revoked
    active: bool  # in force right now
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    created_at: datetime


def _in_force(at: datetime) -> list[object]:
    return [
        FeeWaiver.starts_at <= at,
        or_(FeeWaiver.ends_at.is_(None), FeeWaiver.ends_at > at),
        or_(FeeWaiver.revoked_at.is_(None), FeeWaiver.revoked_at > at),
    ]


def waiver_in_force(session: Session, tenant_id: str, at: datetime) -> FeeWaiver | None:
    return session.scalars(
        select(FeeWaiver).where(FeeWaiver.tenant_id == tenant_id, *_in_force(at))
        .order_by(FeeWaiver.id).limit(1)
    ).first()


def fee_basis_points_for(session: Session, tenant_id: str, tier: str, at: datetime) -> int:
    """The platform fee on a payment of the tenant at `at`: its tier's, or 0 under a waiver."""
    if waiver_in_force(session, tenant_id, at) is not None:
        return 0
    return get_tier(session, tier).fee_basis_points


def _view(waiver: FeeWaiver, now: datetime) -> FeeWaiverView:
    active = (waiver.starts_at <= now and (waiver.ends_at is None or waiver.ends_at > now)
              and (waiver.revoked_at is None or waiver.revoked_at > now))
    return FeeWaiverView(
        id=waiver.id, tenant_id=waiver.tenant_id, reason=waiver.reason,
        starts_at=waiver.starts_at, ends_at=waiver.ends_at, active=active,
        created_by=waiver.created_by, revoked_at=waiver.revoked_at, revoked_by=waiver.revoked_by,
        revoke_reason=waiver.revoke_reason, created_at=waiver.created_at)


def grant_waiver(ctx: Context, tenant_id: str, reason: str, actor: str,
                 starts_at: datetime | None = None,
                 ends_at: datetime | None = None) -> FeeWaiverView:
    """Waive the tenant's platform fee from starts_at (default now) to ends_at (None: until
    revoked)."""
    now = utcnow()
    starts = starts_at or now
    if ends_at is not None and ends_at <= starts:
        raise InvalidInput("ends_at must be after starts_at",
                           {"ends_at": ["Must be after starts_at."]})
    if not reason.strip():
        raise InvalidInput("A waiver needs a reason", {"reason": ["Give a reason."]})
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        waiver = FeeWaiver(tenant_id=tenant_id, reason=reason.strip(), starts_at=starts,
                           ends_at=ends_at, created_by=actor)
        session.add(waiver)
        session.flush()
        view = _view(waiver, now)
        record_audit(session, tenant_id, actor, "fee_waiver.grant", ("fee_waiver", waiver.id),
                     after=view)
        return view


def revoke_waiver(ctx: Context, tenant_id: str, waiver_id: int, reason: str,
                  actor: str) -> FeeWaiverView:
    """End a waiver now (409 if it was already revoked or has ended)."""
    now = utcnow()
    with ctx.db.transaction() as session:
        waiver = session.scalar(select(FeeWaiver).where(
            FeeWaiver.id == waiver_id, FeeWaiver.tenant_id == tenant_id).with_for_update())
        if waiver is None:
            raise NotFound(f"No fee waiver {waiver_id} for tenant {tenant_id!r}")
        if waiver.revoked_at is not None:
            raise Conflict(f"Fee waiver {waiver_id} was already revoked")
        if waiver.ends_at is not None and waiver.ends_at <= now:
            raise Conflict(f"Fee waiver {waiver_id} has already ended")
        before = _view(waiver, now)
        waiver.revoked_at, waiver.revoked_by, waiver.revoke_reason = now, actor, reason.strip()
        session.flush()
        view = _view(waiver, now)
        record_audit(session, tenant_id, actor, "fee_waiver.revoke", ("fee_waiver", waiver.id),
                     before, view)
        return view


def list_waivers(ctx: Context, tenant_id: str) -> list[FeeWaiverView]:
    """Every waiver of the tenant, newest first."""
    now = utcnow()
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        rows = session.scalars(select(FeeWaiver).where(FeeWaiver.tenant_id == tenant_id)
                               .order_by(FeeWaiver.id.desc())).all()
        return [_view(waiver, now) for waiver in rows]
