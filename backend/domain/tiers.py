"""Subscription tiers: what each allows and the platform's transaction fee."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    max_products: int | None  # None: no limit
    max_services: int | None
    max_messages_per_month: int | None
    max_messages_per_day: int | None  # business-initiated past it wait for the next day
    fee_basis_points: int  # platform fee on each customer payment; 250 = 2.5 %
    payment_facilitation: bool  # False: customers pay through the merchant's own link


TIERS: dict[str, Tier] = {
    "starter": Tier("starter", 100, 10, 2_000, 200, 300, False),
    "growth": Tier("growth", 2_000, 50, 20_000, 2_000, 200, True),
    "enterprise": Tier("enterprise", None, None, None, None, 100, True),
}
TIER_NAMES = tuple(TIERS)
