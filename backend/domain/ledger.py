"""The ledger's rules, free of any framework: legs that sum to zero, and the platform fee.

Sign convention: every account's balance is the sum of its entries; money arriving in an
account is positive. Money entering the platform from outside is taken from an "external"
account, whose balance therefore goes negative by exactly what came in.

Fee rounding: fee = amount × basis points / 10,000 rounded half up to a whole minor unit, and
the merchant gets amount − fee. The two legs add up to the amount by construction, so no cent
is ever lost or made up, whatever the rounding does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backend.domain.errors import InvalidInput

BASIS_POINTS = 10_000

# Kinds of ledger transaction.
PAYMENT = "payment"  # external → tenant wallet (net) + platform fees (fee)
WITHDRAWAL_HOLD = "withdrawal_hold"  # tenant wallet → tenant held
PAYOUT = "payout"  # tenant held → external payouts
WITHDRAWAL_RELEASE = "withdrawal_release"  # tenant held → tenant wallet (payout failed)
REFUND = "refund"  # the payment's legs reversed: the customer got the money back
TRANSACTION_KINDS = (PAYMENT, WITHDRAWAL_HOLD, PAYOUT, WITHDRAWAL_RELEASE, REFUND)

# Kinds of account.
TENANT_WALLET = "wallet"
TENANT_HELD = "held"
PLATFORM_FEES = "fees"
EXTERNAL_PAYMENTS = "customer_payments"
EXTERNAL_PAYOUTS = "payouts"


class UnbalancedTransaction(InvalidInput):
    """The legs of a ledger transaction do not sum to zero."""


@dataclass(frozen=True)
class Leg:
    account_key: str
    amount_minor: int


@dataclass(frozen=True)
class FeeSplit:
    amount_minor: int
    fee_minor: int
    net_minor: int


def tenant_account_key(tenant_id: str, kind: str, currency: str) -> str:
    return f"tenant:{tenant_id}:{kind}:{currency}"


def platform_account_key(kind: str, currency: str) -> str:
    return f"platform:{kind}:{currency}"


def external_account_key(kind: str, currency: str) -> str:
    return f"external:{kind}:{currency}"


def split_fee(amount_minor: int, fee_basis_points: int) -> FeeSplit:
    """The platform's fee (half up) and the merchant's net; fee + net == amount always."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidInput(f"A payment amount must be a positive integer, got {amount_minor!r}")
    if not 0 <= fee_basis_points <= BASIS_POINTS:
        raise InvalidInput(f"Fee basis points must be within 0..{BASIS_POINTS}")
    fee = (amount_minor * fee_basis_points * 2 + BASIS_POINTS) // (2 * BASIS_POINTS)
    return FeeSplit(amount_minor, fee, amount_minor - fee)


def check_balanced(legs: Iterable[Leg]) -> list[Leg]:
    """The legs without zero amounts; UnbalancedTransaction unless they sum to zero."""
    kept = [leg for leg in legs if leg.amount_minor != 0]
    if len(kept) < 2:
        raise UnbalancedTransaction("A ledger transaction needs at least two non-zero legs")
    total = sum(leg.amount_minor for leg in kept)
    if total != 0:
        raise UnbalancedTransaction(f"Ledger legs sum to {total}, not zero")
    return kept


def payment_legs(tenant_id: str, currency: str, split: FeeSplit) -> list[Leg]:
    return check_balanced([
        Leg(external_account_key(EXTERNAL_PAYMENTS, currency), -split.amount_minor),
        Leg(tenant_account_key(tenant_id, TENANT_WALLET, currency), split.net_minor),
        Leg(platform_account_key(PLATFORM_FEES, currency), split.fee_minor),
    ])


def move_legs(source: str, target: str, amount_minor: int) -> list[Leg]:
    if amount_minor <= 0:
        raise InvalidInput("An amount to move must be positive")
    return check_balanced([Leg(source, -amount_minor), Leg(target, amount_minor)])


def reversed_legs(legs: Iterable[Leg]) -> list[Leg]:
    """The same legs with their signs flipped (a refund undoes the payment's credit and fee)."""
    return check_balanced([Leg(leg.account_key, -leg.amount_minor) for leg in legs])
