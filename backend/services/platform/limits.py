"""Subscription tier limits: products, services and messages per month (403 when exceeded).

Messages: a tenant's outbound messages of the current calendar month in its own timezone.
Replies inside the customer's 24 h window (the customer wrote in the last 24 h) are always
sent, even past the limit, so a customer is never left without an answer mid-conversation;
business-initiated messages (reminders, campaigns, follow-ups) past the limit are refused
loudly with LimitExceeded rather than dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.errors import InvalidInput, LimitExceeded
from backend.domain.tiers import Tier
from backend.models import OutboundMessage, Tenant
from backend.services.platform.tiers import get_tier

Resource = Literal["products", "services", "users", "messages"]
_LABELS: dict[str, tuple[str, str]] = {
    "products": ("products", "to add more"),
    "services": ("services", "to add more"),
    "users": ("staff users (members and pending invitations)", "to invite more"),
    "messages": ("messages a month", "to send more this month"),
}


def _limit(tier: Tier, resource: Resource) -> int | None:
    if resource == "products":
        return tier.max_products
    if resource == "services":
        return tier.max_services
    if resource == "users":
        return tier.max_users
    if resource == "messages":
        return tier.max_messages_per_month
    raise InvalidInput(f"Unknown limited resource {resource!r}")


def check_limit(session: Session, tier_name: str, resource: Resource, current: int,
                adding: int = 1) -> None:
    """Raise LimitExceeded unless `current + adding` fits the tier's limit (None: unlimited)."""
    tier = get_tier(session, tier_name)
    limit = _limit(tier, resource)
    if limit is None or current + adding <= limit:
        return
    label, more = _LABELS[resource]
    raise LimitExceeded(
        f"The {tier.name} tier allows {limit:,} {label}; you have {current:,}. "
        f"Upgrade {more}."
    )


def month_start_utc(timezone: str, now: datetime | None = None) -> datetime:
    """The first instant of the current calendar month in `timezone`, as UTC."""
    zone = ZoneInfo(timezone)
    local = (now or datetime.now(UTC)).astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def messages_this_month(session: Session, tenant: Tenant, now: datetime | None = None) -> int:
    """Outbound messages of the tenant's calendar month holding `now` (by when they go out;
    any status but cancelled: a scheduled message holds its place)."""
    start = month_start_utc(tenant.timezone, now)
    following = month_start_utc(tenant.timezone, (start + timedelta(days=32)))
    return messages_between(session, tenant.id, start, following)


def messages_between(session: Session, tenant_id: str, start: datetime, end: datetime) -> int:
    """The tenant's outbound messages due in [start, end), cancelled ones aside."""
    count = session.scalar(
        select(func.count(OutboundMessage.id)).where(
            OutboundMessage.tenant_id == tenant_id,
            OutboundMessage.due_at >= start,
            OutboundMessage.due_at < end,
            OutboundMessage.status != "cancelled",
        )
    )
    return int(count or 0)
