"""The platform's monthly revenue, read from the wallets' ledger.

Transaction fees: the platform fee leg of every customer payment (ledger account
platform:fees:<currency>), by the month the payment was credited (UTC). Subscriptions: paid
invoices net of tax (collected for the tax authority, not revenue), by the month they were paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import InvalidInput
from backend.domain.ledger import PAYMENT, PLATFORM_FEES
from backend.models import Invoice, LedgerAccount, LedgerEntry, LedgerTransaction


@dataclass(frozen=True)
class MonthRevenue:
    month: str  # "2026-03"
    currency: str
    transaction_fees_minor: int
    subscriptions_minor: int
    total_minor: int


def transaction_fees(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Platform fees taken on payments credited in [start, end), by currency."""
    rows = session.execute(
        select(LedgerAccount.currency, func.sum(LedgerEntry.amount_minor))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerTransaction.kind == PAYMENT,
               LedgerAccount.tenant_id.is_(None), LedgerAccount.kind == PLATFORM_FEES,
               LedgerTransaction.created_at >= start, LedgerTransaction.created_at < end)
        .group_by(LedgerAccount.currency)).all()
    return {currency: int(total or 0) for currency, total in rows}


def subscriptions(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Paid subscription invoices, net of tax, paid in [start, end), by currency."""
    rows = session.execute(
        select(Invoice.currency, func.sum(Invoice.total_minor - Invoice.tax_minor))
        .where(Invoice.status == "paid", Invoice.paid_at >= start, Invoice.paid_at < end)
        .group_by(Invoice.currency)).all()
    return {currency: int(total or 0) for currency, total in rows}


SOURCES = ("transaction_fees", "subscriptions")  # what the report covers


def _months(year: int) -> list[tuple[str, datetime, datetime]]:
    starts = [datetime(year, month, 1, tzinfo=UTC) for month in range(1, 13)]
    ends = starts[1:] + [datetime(year + 1, 1, 1, tzinfo=UTC)]
    return [(start.strftime("%Y-%m"), start, end) for start, end in zip(starts, ends)]


def monthly_revenue(ctx: Context, year: int) -> list[MonthRevenue]:
    """Each month of `year` with revenue, per currency (months with none are left out)."""
    if not 2000 <= year <= 9998:
        raise InvalidInput("year must be between 2000 and 9998")
    report: list[MonthRevenue] = []
    with ctx.db.transaction() as session:
        for label, start, end in _months(year):
            fees = transaction_fees(session, start, end)
            paid = subscriptions(session, start, end)
            for currency in sorted(set(fees) | set(paid)):
                fee, subscription = fees.get(currency, 0), paid.get(currency, 0)
                report.append(MonthRevenue(label, currency, fee, subscription, fee + subscription))
    return report

