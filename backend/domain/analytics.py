"""Analytics rules: a tenant's local day as UTC bounds, adding days' figures up, and the rates
and averages derived from the counts when they are read.

Stored figures are counts and sums only (money in integer minor units): a week is the sum of
its days. Rates are ratios in 0..1 (None when the denominator is zero), averages of money are
integer minor units (rounded half up), durations whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.campaigns import CONVERSION_WINDOW, SPENT_STATUSES

FALLBACK_INTENT = "nlu_fallback"
# Outbound statuses that did not (yet) go out: not counted as messages sent.
NOT_SENT = ("scheduled", "cancelled")
CAMPAIGN_SENT = ("sent", "delivered", "read")
CAMPAIGN_DELIVERED = ("delivered", "read")
# Orders that count as paid revenue (refunded and cancelled do not).
PAID_STATUSES = SPENT_STATUSES
CAMPAIGN_WINDOW = CONVERSION_WINDOW  # replies and conversions counted within 72 h of a send
# A day's figures may still change for this many days (payments arriving late, campaign
# replies and conversions within 72 h): the nightly job rolls these closed days up again.
SETTLING_DAYS = 3
MAX_RANGE_DAYS = 366


def day_bounds(timezone: str, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar `day` in `timezone`, as aware datetimes."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def local_day(timezone: str, at: datetime) -> date:
    """The tenant's calendar day holding the instant `at`."""
    return at.astimezone(ZoneInfo(timezone)).date()


def days(start: date, end: date) -> list[date]:
    """Every day from start to end, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def add(total: dict[str, Any], figures: Mapping[str, Any]) -> dict[str, Any]:
    """Add one day's figures into `total` (counts and sums; {key: count} and
    {method: {attempted, succeeded}} maps key by key); returns total."""
    for name, value in figures.items():
        if isinstance(value, Mapping):
            into = total.setdefault(name, {})
            for key, inner in value.items():
                if isinstance(inner, Mapping):
                    slot = into.setdefault(key, {})
                    for field, count in inner.items():
                        slot[field] = slot.get(field, 0) + int(count)
                else:
                    into[key] = into.get(key, 0) + int(inner)
        elif isinstance(value, int) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value
    return total


def total(figures: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for day in figures:
        add(result, day)
    return result


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def average_minor(amount: int, count: int) -> int | None:
    """amount / count in whole minor units, half up (integers only: no float money)."""
    if not count:
        return None
    return (2 * amount + count) // (2 * count)


def derived(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The rates and averages of summed figures."""
    get = figures.get
    payments = {
        method: {"attempted": int(counts.get("attempted", 0)),
                 "succeeded": int(counts.get("succeeded", 0)),
                 "success_rate": ratio(int(counts.get("succeeded", 0)),
                                       int(counts.get("attempted", 0)))}
        for method, counts in sorted((get("payments") or {}).items())
    }
    faq_total = get("faq_answered", 0) + get("faq_declined", 0)
    return {
        "average_order_minor": average_minor(get("revenue_minor", 0), get("orders_paid", 0)),
        "conversion_to_order": ratio(get("conversations_ordered", 0), get("conversations", 0)),
        "conversion_to_paid": ratio(get("conversations_paid", 0), get("conversations", 0)),
        "order_paid_rate": ratio(get("orders_paid", 0), get("orders", 0)),
        "no_show_rate": ratio(get("no_shows", 0), get("appointments", 0)),
        "fallback_rate": ratio(get("fallbacks", 0), get("classifications", 0)),
        "faq_answer_rate": ratio(get("faq_answered", 0), faq_total),
        "average_first_reply_seconds": (
            average_minor(get("first_reply_seconds", 0), get("handoffs_replied", 0))),
        "payment_methods": payments,
    }


def top_intents(intents: Mapping[str, int], limit: int) -> list[tuple[str, int]]:
    """The most frequent intents, then by name; the fallback is reported apart, not here."""
    ranked = sorted(((name, int(count)) for name, count in intents.items()
                     if name != FALLBACK_INTENT), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]
