"""Campaigns: a promotional message to a segment of a tenant's customers, in one or more template
variants (A/B), fanned out by jobs through the one send decision (backend/domain/messaging.py).

The split is random but reproducible: the audience's customer ids, sorted, are shuffled with a
generator seeded by the campaign, then dealt to the variants in turn, so every variant gets the
same number of recipients within one, and re-running the split gives the same answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from backend.domain.errors import Unprocessable

KIND = "promotional"  # every campaign message needs the customer's promotional consent
# An order placed or a booking made this long after the send counts as converted.
CONVERSION_WINDOW = timedelta(hours=72)
MAX_VARIANTS = 5
VARIANT_LABELS = "ABCDE"
# Orders that count as spent money (a draft, unpaid, cancelled or refunded one does not; a
# returned one is paid until it is refunded).
SPENT_STATUSES = ("paid", "fulfilled", "delivered", "returned")
# Orders that count as placed for "last order" and conversions.
PLACED_STATUSES = ("pending_payment", "paid", "fulfilled", "delivered", "refunded", "returned")
CAMPAIGN_STATUSES = ("scheduled", "queued", "sending", "done", "cancelled")
# pending: materialised, not yet through the decision; planned: an outbound message exists
# (queued, or scheduled for quiet hours or the next day with room); refused: the rules said no
# (reason kept); cancelled: the campaign was cancelled before it reached this customer.
RECIPIENT_STATUSES = ("pending", "planned", "refused", "cancelled")

REFUSALS = {
    "empty_audience": "No customer with promotional consent matches this segment.",
    "no_promotional_consent": (
        "None of this tenant's customers has agreed to promotional messages: a campaign would "
        "reach no one."
    ),
    "template_language_missing": (
        "Template {template!r} has no {languages} variant, the language of {count} recipient(s) "
        "of this campaign. Add the variant or narrow the segment (e.g. by language)."
    ),
    "not_cancellable": "The campaign is {status}; only a scheduled or sending one can be cancelled.",
}


class CampaignRefused(Unprocessable):
    """A campaign that cannot go out as asked; `reason` is one of REFUSALS (422 with `reason`),
    raised before anything is stored."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(REFUSALS[reason].format(**details))
        self.reason = reason
        self.extra = {"reason": reason, **{k: v for k, v in details.items()
                                           if isinstance(v, (int, str, list))}}


@dataclass(frozen=True)
class Segment:
    """Who a campaign is for; every field left None does not narrow it. Promotional consent is
    always required on top (not a field: it cannot be turned off)."""

    languages: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None  # any of them
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    total_spent_min: int | None = None  # minor units
    total_spent_max: int | None = None
    has_bookings: bool | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[item.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Segment:
        values: dict[str, object] = {}
        for item in fields(cls):
            value = data.get(item.name)
            if value is not None and item.name.startswith("last_order"):
                value = datetime.fromisoformat(str(value))
            elif isinstance(value, list):
                value = tuple(value)
            values[item.name] = value
        return cls(**values)  # type: ignore[arg-type]


def shuffled(customer_ids: Sequence[int], seed: int) -> list[int]:
    """The customers in the campaign's seeded random order (the same for the same seed)."""
    ordered = sorted(customer_ids)
    random.Random(seed).shuffle(ordered)
    return ordered


def split(customer_ids: Sequence[int], variants: int, seed: int) -> dict[int, int]:
    """customer id → variant index: the seeded shuffle dealt in turn (balanced within one)."""
    return {customer: position % variants
            for position, customer in enumerate(shuffled(customer_ids, seed))}


def label(index: int) -> str:
    return VARIANT_LABELS[index]
