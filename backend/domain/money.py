"""Money as integer minor units plus an ISO 4217 currency; never floats."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Digits after the decimal point per currency (ISO 4217). KES has cents even if rarely used.
MINOR_UNIT_DIGITS = {"KES": 2, "UGX": 0, "TZS": 2, "RWF": 0, "USD": 2, "EUR": 2, "GBP": 2}


# The largest amount the API takes, in minor units: 10 billion KES. A line of 10,000 at this price,
# and thousands of such lines, still fit a BIGINT total.
MAX_MINOR = 10**12


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def minor_unit_digits(currency: str) -> int:
    try:
        return MINOR_UNIT_DIGITS[currency]
    except KeyError:
        raise MoneyError(f"Unsupported currency {currency!r}") from None


@dataclass(frozen=True)
class Money:
    """An exact amount: `Money(250000, "KES")` is KES 2,500.00."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise MoneyError(f"amount_minor must be an int, got {self.amount_minor!r}")
        minor_unit_digits(self.currency)

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> Money:
        """Parse a major-unit amount ('2500', '99.50'); refuses fractions of the minor unit."""
        if isinstance(amount, float):
            raise MoneyError("Use a string or Decimal, never a float, for money")
        try:
            scaled = Decimal(amount).scaleb(minor_unit_digits(currency))
        except InvalidOperation:
            raise MoneyError(f"Not an amount: {amount!r}") from None
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise MoneyError(f"{amount!r} {currency} is not a whole number of minor units")
        return cls(int(scaled), currency)

    def to_major(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-minor_unit_digits(self.currency))

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError(f"Cannot add {other!r} to {self!r}")
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def format(self) -> str:
        """Human form for messages: 'KES 2,500.00'."""
        digits = minor_unit_digits(self.currency)
        return f"{self.currency} {self.to_major():,.{digits}f}"


def price_range(amounts_minor: Iterable[int]) -> tuple[int | None, int | None]:
    """Lowest and highest price, or (None, None) when there is none."""
    amounts = list(amounts_minor)
    if not amounts:
        return None, None
    return min(amounts), max(amounts)
