"""Orders: the status machine and totals (integer minor units), free of any framework."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backend.domain.errors import Conflict, InvalidInput

DRAFT = "draft"
PENDING_PAYMENT = "pending_payment"
PAID = "paid"
FULFILLED = "fulfilled"
DELIVERED = "delivered"
CANCELLED = "cancelled"
REFUNDED = "refunded"
RETURNED = "returned"  # shipped, but the goods came back (refused, nobody there): back in stock
ORDER_STATUSES = (DRAFT, PENDING_PAYMENT, PAID, FULFILLED, DELIVERED, CANCELLED, REFUNDED,
                  RETURNED)

# Every allowed move; anything else is refused. Terminal: delivered, cancelled, refunded; a
# returned order can still be refunded.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({PENDING_PAYMENT, CANCELLED}),
    PENDING_PAYMENT: frozenset({PAID, CANCELLED}),
    PAID: frozenset({FULFILLED, REFUNDED}),
    FULFILLED: frozenset({DELIVERED, RETURNED}),
    DELIVERED: frozenset(),
    CANCELLED: frozenset(),
    REFUNDED: frozenset(),
    RETURNED: frozenset({REFUNDED}),
}
# Statuses in which the order's stock is taken from the catalog (reserved, then shipped):
# entering one reserves it; leaving for cancelled or refunded gives it back (paid → refunded
# releases too: a refunded order was never fulfilled).
HOLDS_STOCK = frozenset({PENDING_PAYMENT, PAID, FULFILLED, DELIVERED})


class InvalidTransition(Conflict):
    """The order cannot move from its status to the one asked for."""


def check_transition(current: str, to: str) -> str:
    """Return `to` when the move is allowed; raise InvalidTransition (409) otherwise."""
    if to not in TRANSITIONS:
        raise InvalidInput(f"Unknown order status {to!r}", {"to": [f"One of {ORDER_STATUSES}"]})
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final status)"
        raise InvalidTransition(f"An order cannot go from {current} to {to}; allowed: {allowed}")
    return to


def stock_effect(current: str, to: str) -> int:
    """+1: the move reserves stock; -1: it releases the reservation; 0: no change."""
    return int(to in HOLDS_STOCK) - int(current in HOLDS_STOCK)


@dataclass(frozen=True)
class Line:
    unit_price_minor: int
    quantity: int

    def __post_init__(self) -> None:
        for name in ("unit_price_minor", "quantity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(f"{name} must be an integer, got {value!r}")
        if self.unit_price_minor < 0:
            raise InvalidInput("A price cannot be negative")
        if self.quantity < 1:
            raise InvalidInput("A quantity must be at least 1")

    @property
    def total_minor(self) -> int:
        return self.unit_price_minor * self.quantity


def order_total(lines: Iterable[Line]) -> int:
    """Sum of price × quantity over the lines, in integer minor units."""
    return sum((line.total_minor for line in lines), 0)
