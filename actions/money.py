"""Shows integer minor units as customers read prices: "KES 2,500", "KES 2,500 – 3,000"."""
from __future__ import annotations


def format_money(minor: int, currency: str = "KES") -> str:
    major, cents = divmod(int(minor), 100)
    text = f"{currency} {major:,}"
    return f"{text}.{cents:02d}" if cents else text


def price_range(low: int, high: int, currency: str = "KES") -> str:
    if low == high:
        return format_money(low, currency)
    return f"{format_money(low, currency)} – {format_money(high, currency)[len(currency) + 1:]}"
