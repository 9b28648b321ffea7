"""Deposits for bookable services, free of any framework: what a service asks up front
(nothing, a fixed amount, a percentage of the price, or the full price), validated, and the
amount due for one booking (integer minor units; a percentage rounds half up)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.errors import InvalidInput

NONE = "none"
FIXED = "fixed"
PERCENT = "percent"
FULL = "full"
DEPOSIT_KINDS = (NONE, FIXED, PERCENT, FULL)
MAX_HOLD_MINUTES = 24 * 60


@dataclass(frozen=True)
class DepositRule:
    kind: str = NONE
    value: int | None = None  # FIXED: minor units; PERCENT: 1..100; otherwise None
    hold_minutes: int | None = None  # None: the platform's default


def validate_rule(rule: DepositRule, prices_minor: list[int]) -> DepositRule:
    """The rule, normalised (value None unless fixed/percent); InvalidInput naming the field.
    A fixed deposit may not exceed the cheapest variant's price."""
    if rule.kind not in DEPOSIT_KINDS:
        raise InvalidInput(f"Unknown deposit kind {rule.kind!r}",
                           {"deposit_kind": [f"One of {', '.join(DEPOSIT_KINDS)}."]})
    if rule.hold_minutes is not None and not 1 <= rule.hold_minutes <= MAX_HOLD_MINUTES:
        raise InvalidInput("hold_minutes must be within 1..1440",
                           {"hold_minutes": [f"Between 1 and {MAX_HOLD_MINUTES}."]})
    if rule.kind in (NONE, FULL):
        if rule.value is not None:
            raise InvalidInput(f"A {rule.kind!r} deposit takes no deposit_value",
                               {"deposit_value": ["Leave it out for this kind."]})
        return rule
    value = rule.value
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"A {rule.kind!r} deposit needs deposit_value",
                           {"deposit_value": ["Required for this kind."]})
    if rule.kind == PERCENT and not 1 <= value <= 100:
        raise InvalidInput("A percentage deposit is between 1 and 100",
                           {"deposit_value": ["Between 1 and 100."]})
    if rule.kind == FIXED:
        if value < 1:
            raise InvalidInput("A fixed deposit must be at least 1 minor unit",
                               {"deposit_value": ["At least 1."]})
        if prices_minor and value > min(prices_minor):
            raise InvalidInput(
                f"A deposit of {value} is more than the price ({min(prices_minor)})",
                {"deposit_value": ["At most the price of every variant."]})
    return rule


def deposit_due(rule: DepositRule, price_minor: int) -> int:
    """What one booking at `price_minor` pays up front; 0: nothing (book directly)."""
    if rule.kind == NONE or price_minor <= 0:
        return 0
    if rule.kind == FULL:
        return price_minor
    assert rule.value is not None
    if rule.kind == FIXED:
        return min(rule.value, price_minor)
    return (price_minor * rule.value * 2 + 100) // 200
DEPOSIT_LINE = "deposit"  # an order line paying a booking's deposit (no variant, no stock)
