"""Subscription tiers: what each allows, what it costs and the platform's transaction fee.

Tiers are data (the `tiers` table, read through backend.services.billing.tiers.load_tiers); the
values below are what migration 0018 seeded and what a fresh test database is reset to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_TRIAL_DAYS = 14
TIER_NAME_PATTERN = r"^[a-z][a-z0-9_-]{1,15}$"


@dataclass(frozen=True)
class Tier:
    name: str
    max_products: int | None  # None: no limit
    max_services: int | None
    max_messages_per_month: int | None
    max_messages_per_day: int | None  # business-initiated past it wait for the next day
    fee_basis_points: int  # platform fee on each customer payment; 250 = 2.5 %
    payment_facilitation: bool  # False: customers pay through the merchant's own link
    monthly_price_minor: int = 0  # KES cents
    yearly_price_minor: int = 0
    max_users: int | None = None
    trial_days: int = DEFAULT_TRIAL_DAYS
    features: dict[str, Any] = field(default_factory=dict)
    currency: str = "KES"

    def price_minor(self, cycle: str) -> int:
        return self.yearly_price_minor if cycle == "yearly" else self.monthly_price_minor

    def limit(self, resource: str) -> int | None:
        """The limit on products, services, users or messages (a month); None: unlimited."""
        return {"products": self.max_products, "services": self.max_services,
                "users": self.max_users, "messages": self.max_messages_per_month}[resource]


# What migration 0018 seeded (prices in KES cents: starter KES 1,500 a month or 15,000 a year).
DEFAULT_TIERS: dict[str, Tier] = {
    "starter": Tier("starter", 100, 10, 2_000, 200, 300, False, 150_000, 1_500_000, 3, 14,
                    {"campaigns": False, "card_payments": False}),
    "growth": Tier("growth", 2_000, 50, 20_000, 2_000, 200, True, 500_000, 5_000_000, 10, 14,
                   {"campaigns": True, "card_payments": True}),
    "enterprise": Tier("enterprise", None, None, None, None, 100, True, 1_500_000, 15_000_000,
                       None, 14, {"campaigns": True, "card_payments": True}),
}
