"""A tenant's settings together with its tier's limits and this month's usage."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from backend.wiring import Context
from backend.services.platform.limits import messages_this_month
from backend.services.platform.tiers import get_tier
from backend.services.platform.tenants import TenantSettings, get_settings, require_tenant, update_settings


def _with_usage(ctx: Context, settings: TenantSettings) -> dict[str, Any]:
    with ctx.db.transaction() as session:
        tier = get_tier(session, settings.tier)
        used = messages_this_month(session, require_tenant(session, settings.id))
    return {
        **asdict(settings),
        "usage": {
            "messages_this_month": used,
            "max_messages_per_month": tier.max_messages_per_month,
            "max_products": tier.max_products,
            "max_services": tier.max_services,
            "fee_basis_points": tier.fee_basis_points,
        },
    }


def settings_with_usage(ctx: Context, tenant_id: str) -> dict[str, Any]:
    return _with_usage(ctx, get_settings(ctx, tenant_id))


def update_settings_with_usage(
    ctx: Context, tenant_id: str, changes: dict[str, Any], *, as_operator: bool
) -> dict[str, Any]:
    return _with_usage(ctx, update_settings(ctx, tenant_id, changes, as_operator=as_operator))
