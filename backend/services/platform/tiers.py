"""Tiers as data: the one way to read them (`load_tiers`, cached briefly per database), the
operator's changes, and the one function that moves a tenant to another tier (usage checked).

The cache: every process keeps the tiers it read for CACHE_SECONDS per database; a change made
here empties this process's cache at once, other processes see it within CACHE_SECONDS.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.errors import Conflict, InvalidInput, NotFound, Unprocessable
from backend.domain.tiers import DEFAULT_TIERS, TIER_NAME_PATTERN, Tier
from backend.domain.ledger import TENANT_HELD, TENANT_WALLET
from backend.models import (
    LedgerAccount,
    LedgerEntry,
    Membership,
    Product,
    Service,
    Subscription,
    Tenant,
    TierRow,
)
from backend.services.platform.audit import record_audit, record_platform_audit
from backend.wiring import Context

CACHE_SECONDS = 30.0
LIMITED = ("products", "services", "users")  # what a downgrade must fit
TIER_FIELDS = tuple(item.name for item in fields(Tier))

_cache: dict[str, tuple[float, dict[str, Tier]]] = {}
_lock = threading.Lock()


def _key(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def _tier(row: TierRow) -> Tier:
    return Tier(**{name: getattr(row, name) for name in TIER_FIELDS if name != "features"},
                features=dict(row.features or {}))


def load_tiers(session: Session) -> dict[str, Tier]:
    """Every tier by name, cheapest first (what limits, fees, settings and billing read)."""
    key = _key(session)
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    rows = session.scalars(select(TierRow).order_by(TierRow.monthly_price_minor, TierRow.name))
    tiers = {row.name: _tier(row) for row in rows}
    with _lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, tiers)
    return tiers


def clear_tier_cache() -> None:
    """Forget every cached tier (after a change, or a test resetting its database)."""
    with _lock:
        _cache.clear()


def get_tier(session: Session, name: str) -> Tier:
    tier = load_tiers(session).get(name)
    if tier is None:
        known = ", ".join(load_tiers(session))
        raise InvalidInput(f"Unknown tier {name!r}; one of {known}",
                           {"tier": [f"One of {known}."]})
    return tier


def seed_default_tiers(session: Session) -> None:
    """Put back the tiers the migration seeded (a test database emptied between tests)."""
    session.execute(delete(TierRow).where(TierRow.name.in_(list(DEFAULT_TIERS))))
    for tier in DEFAULT_TIERS.values():
        session.add(TierRow(**asdict(tier)))
    session.flush()
    clear_tier_cache()


def list_tiers(ctx: Context) -> list[Tier]:
    with ctx.db.transaction() as session:
        return list(load_tiers(session).values())


def _check(values: dict[str, Any]) -> None:
    for name in ("monthly_price_minor", "yearly_price_minor", "trial_days", "fee_basis_points"):
        if name in values and values[name] < 0:
            raise InvalidInput(f"{name} cannot be negative")
    if values.get("fee_basis_points", 0) > 10_000:
        raise InvalidInput("fee_basis_points is at most 10000 (100 %)")
    for name in ("max_products", "max_services", "max_users", "max_messages_per_month",
                 "max_messages_per_day"):
        if values.get(name) is not None and values[name] < 0:
            raise InvalidInput(f"{name} cannot be negative (null: no limit)")


def create_tier(ctx: Context, values: dict[str, Any]) -> Tier:
    if not re.match(TIER_NAME_PATTERN, str(values.get("name", ""))):
        raise InvalidInput("A tier name is 2 to 16 lowercase letters, digits, - or _")
    _check(values)
    try:
        with ctx.db.transaction() as session:
            if session.get(TierRow, values["name"]) is not None:
                raise Conflict(f"Tier {values['name']!r} exists")
            row = TierRow(**{"features": {}, "trial_days": 14, "currency": "KES", **values})
            session.add(row)
            session.flush()
            tier = _tier(row)
            record_platform_audit(session, "tier.create", ("tier", tier.name), None, asdict(tier))
    except IntegrityError:
        raise Conflict(f"Tier {values['name']!r} exists") from None
    clear_tier_cache()
    return tier


def update_tier(ctx: Context, name: str, changes: dict[str, Any]) -> Tier:
    _check(changes)
    with ctx.db.transaction() as session:
        row = session.get(TierRow, name, with_for_update=True)
        if row is None:
            raise NotFound(f"No tier {name!r}")
        before = asdict(_tier(row))
        for field, value in changes.items():
            setattr(row, field, value)
        session.flush()
        tier = _tier(row)
        changed = {key for key, value in asdict(tier).items() if before[key] != value}
        if changed:
            record_platform_audit(session, "tier.update", ("tier", name),
                                  {key: before[key] for key in sorted(changed)},
                                  {key: getattr(tier, key) for key in sorted(changed)})
    clear_tier_cache()
    return tier


def usage_counts(session: Session, tenant_id: str) -> dict[str, int]:
    """What a tier limits, as the tenant uses it now."""
    products = session.scalar(select(func.count(Product.id)).where(Product.tenant_id == tenant_id))
    services = session.scalar(select(func.count(Service.id)).where(Service.tenant_id == tenant_id))
    users = session.scalar(select(func.count(Membership.id)).where(
        Membership.tenant_id == tenant_id))
    return {"products": int(products or 0), "services": int(services or 0),
            "users": int(users or 0)}


def wallet_money(session: Session, tenant_id: str) -> list[tuple[str, int]]:
    """(currency, minor units) the tenant's wallet holds, available plus held, where not 0."""
    rows = session.execute(
        select(LedgerAccount.currency, func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.tenant_id == tenant_id,
               LedgerAccount.kind.in_((TENANT_WALLET, TENANT_HELD)))
        .group_by(LedgerAccount.currency).order_by(LedgerAccount.currency)).all()
    return [(currency, abs(int(total))) for currency, total in rows if int(total)]


def change_tier(session: Session, tenant: Tenant, name: str) -> None:
    """Move a tenant (and its subscription) to tier `name`: refused (422, with the numbers) while
    it uses more than that tier allows. Every path that changes a tier calls this."""
    tiers = load_tiers(session)
    if name not in tiers:
        raise Unprocessable(f"Unknown tier {name!r}",
                            {"tier": [f"One of {', '.join(tiers)}."]})
    tier = tiers[name]
    if tenant.tier == name:
        return
    used = usage_counts(session, tenant.id)
    over = {resource: (count, limit) for resource, count in used.items()
            if (limit := tier.limit(resource)) is not None and count > limit}
    if over:
        detail = "; ".join(f"{count:,} {resource} (the {name} tier allows {limit:,})"
                           for resource, (count, limit) in over.items())
        raise Unprocessable(
            f"Cannot move to the {name} tier: the tenant has {detail}. Remove some first.",
            {resource: [f"{count} used, {limit} allowed"]
             for resource, (count, limit) in over.items()})
    if get_tier(session, tenant.tier).payment_facilitation and not tier.payment_facilitation:
        # Customers then pay the merchant directly: the wallet must be empty first.
        left = wallet_money(session, tenant.id)
        if left:
            money = ", ".join(f"{currency} {amount / 100:,.2f}" for currency, amount in left)
            raise Unprocessable(
                f"Cannot move to the {name} tier, which does not take payments for the "
                f"merchant: the wallet still holds {money} (available and held). Withdraw it "
                "first.", {"tier": [f"The wallet holds {money}."]})
    record_audit(session, tenant.id, None, "tenant.tier_change", ("tenant", tenant.id),
                 {"tier": tenant.tier}, {"tier": name, "usage": used})
    tenant.tier = name
    subscription = session.scalar(
        select(Subscription).where(Subscription.tenant_id == tenant.id))
    if subscription is not None:
        subscription.tier = name
