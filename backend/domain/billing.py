"""Billing rules without I/O: billing periods, discounts, tax, the retry and reminder calendar."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

# After the renewal charge fails, 3 retries over 7 days (days after the renewal date); the
# tenant is suspended when the last one fails.
RETRY_DAYS: tuple[int, ...] = (1, 3, 7)
# Reminders before a renewal, in days.
REMINDER_DAYS: tuple[int, ...] = (7, 3, 1)
MAX_PERCENT = 100


def add_cycle(start: datetime, cycle: str) -> datetime:
    """The same day next month (or year), clipped to the month's last day (31 Jan -> 28 Feb)."""
    months = 12 if cycle == "yearly" else 1
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def discount_minor(kind: str, value: int, subtotal_minor: int) -> int:
    """What a discount takes off a subtotal: a percentage (rounded down) or a fixed amount,
    never more than the subtotal."""
    if kind == "percent":
        return subtotal_minor * min(value, MAX_PERCENT) // 100
    return min(value, subtotal_minor)


def tax_minor(amount_minor: int, basis_points: int) -> int:
    """Tax on an amount, rounded half up to the minor unit."""
    return (amount_minor * basis_points + 5_000) // 10_000


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int


def invoice_totals(price_minor: int, discount: tuple[str, int] | None,
                   tax_basis_points: int) -> Totals:
    off = discount_minor(discount[0], discount[1], price_minor) if discount else 0
    tax = tax_minor(price_minor - off, tax_basis_points)
    return Totals(price_minor, off, tax, price_minor - off + tax)


def next_retry(renewal: datetime, failed_attempts: int) -> datetime | None:
    """When to charge again after `failed_attempts` failures (None: no retry left)."""
    if failed_attempts > len(RETRY_DAYS):
        return None
    return renewal + timedelta(days=RETRY_DAYS[failed_attempts - 1])


def reminder_due(renewal: datetime, now: datetime) -> int | None:
    """The reminder (days before renewal) to send now: the closest window `now` is in."""
    if now >= renewal:
        return None
    for days in sorted(REMINDER_DAYS):
        if renewal - timedelta(days=days) <= now:
            return days
    return None
