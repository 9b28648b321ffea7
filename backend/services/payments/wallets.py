"""Tenant wallets on the double-entry ledger: credits for customer payments (less the
platform fee), withdrawals held at once, approved by another user, paid out through Daraja
B2C, and given back when the payout fails. Every change is audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput, Unauthenticated
from backend.domain.ledger import (
    EXTERNAL_PAYOUTS,
    PAYMENT,
    PAYOUT,
    PLATFORM_FEES,
    TENANT_HELD,
    TENANT_WALLET,
    TRANSACTION_KINDS,
    WITHDRAWAL_HOLD,
    WITHDRAWAL_RELEASE,
    Leg,
    check_balanced,
    external_account_key,
    move_legs,
    payment_legs,
    platform_account_key,
    split_fee,
    tenant_account_key,
)
from backend.domain.payments import kenyan_mobile
from backend.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    WalletAuditEvent,
    Withdrawal,
)
from backend.models.base import utcnow
from backend.services.platform.fee_waivers import fee_basis_points_for
from backend.services.platform.audit import record_audit
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

PENDING_APPROVAL, APPROVED, PROCESSING, PAID, FAILED = (
    "pending_approval", "approved", "processing", "paid", "failed")
COMPLETED = "completed"


@dataclass(frozen=True)
class WalletView:
    currency: str
    available_minor: int
    held_minor: int
    credited_minor: int  # net of fees, all time
    fees_minor: int  # platform fees taken, all time
    paid_out_minor: int


@dataclass(frozen=True)
class EntryView:
    account: str
    amount_minor: int


@dataclass(frozen=True)
class TransactionView:
    id: int
    type: str
    status: str
    amount_minor: int  # the change to the available balance
    fee_minor: int
    payment_id: int | None
    withdrawal_id: int | None
    description: str
    created_at: datetime
    entries: list[EntryView]


@dataclass(frozen=True)
class WithdrawalView:
    id: int
    amount_minor: int
    currency: str
    status: str
    phone: str
    requested_by: str
    approved_by: str | None
    provider_transaction_id: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


# --- ledger primitives ------------------------------------------------------------------------

def _account(session: Session, key: str, tenant_id: str | None, kind: str, currency: str,
             lock: bool = False) -> LedgerAccount:
    query = select(LedgerAccount).where(LedgerAccount.key == key)
    account = session.scalar(query.with_for_update() if lock else query)
    if account is not None:
        return account
    try:
        with session.begin_nested():
            session.add(LedgerAccount(key=key, tenant_id=tenant_id, kind=kind, currency=currency))
    except IntegrityError:
        pass  # created meanwhile by a concurrent transaction
    account = session.scalar(query.with_for_update() if lock else query)
    assert account is not None
    return account


def _account_for(session: Session, key: str, currency: str) -> LedgerAccount:
    scope, *rest = key.split(":")
    tenant_id = rest[0] if scope == "tenant" else None
    kind = rest[1] if scope == "tenant" else rest[0]
    return _account(session, key, tenant_id, kind, currency)


def post_transaction(session: Session, tenant_id: str, kind: str, legs: list[Leg], currency: str,
                     *, payment_id: int | None = None, withdrawal_id: int | None = None,
                     description: str = "") -> LedgerTransaction:
    """Write one balanced transaction (checked here on every database; PostgreSQL checks again
    at commit). A second transaction of the same kind for one payment/withdrawal is refused by
    the unique constraint, so a payment can never be credited twice."""
    if kind not in TRANSACTION_KINDS:
        raise InvalidInput(f"Unknown ledger transaction kind {kind!r}")
    legs = check_balanced(legs)
    transaction = LedgerTransaction(tenant_id=tenant_id, kind=kind, payment_id=payment_id,
                                    withdrawal_id=withdrawal_id, description=description)
    transaction.entries = [
        LedgerEntry(account_id=_account_for(session, leg.account_key, currency).id,
                    amount_minor=leg.amount_minor, currency=currency)
        for leg in legs
    ]
    session.add(transaction)
    session.flush()
    return transaction


def balance(session: Session, key: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.key == key))
    return int(total or 0)


def credit_payment(session: Session, payment: Payment, tier: str) -> LedgerTransaction:
    """Credit a succeeded payment less the platform fee (none while a fee waiver is in force)."""
    fee = fee_basis_points_for(session, payment.tenant_id, tier, utcnow())
    split = split_fee(payment.amount_minor, fee)
    return post_transaction(
        session, payment.tenant_id, PAYMENT,
        payment_legs(payment.tenant_id, payment.currency, split), payment.currency,
        payment_id=payment.id,
        description=f"Payment {payment.id} for order {payment.order_id} ({payment.provider})",
    )


def _audit(session: Session, tenant_id: str, action: str, actor: str,
           withdrawal_id: int | None = None, **detail: Any) -> None:
    session.add(WalletAuditEvent(tenant_id=tenant_id, withdrawal_id=withdrawal_id,
                                 action=action, actor=actor, detail=detail))


# --- reading ----------------------------------------------------------------------------------

def _sum_entries(session: Session, *conditions: Any) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(*conditions))
    return int(total or 0)


def get_wallet(ctx: Context, tenant_id: str) -> WalletView:
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        wallet = tenant_account_key(tenant_id, TENANT_WALLET, currency)
        held = tenant_account_key(tenant_id, TENANT_HELD, currency)
        mine = LedgerTransaction.tenant_id == tenant_id
        return WalletView(
            currency=currency,
            available_minor=balance(session, wallet),
            held_minor=balance(session, held),
            credited_minor=_sum_entries(session, mine, LedgerTransaction.kind == PAYMENT,
                                        LedgerAccount.key == wallet),
            fees_minor=_sum_entries(session, mine, LedgerTransaction.kind == PAYMENT,
                                    LedgerAccount.key == platform_account_key(PLATFORM_FEES,
                                                                              currency)),
            paid_out_minor=_sum_entries(session, mine, LedgerTransaction.kind == PAYOUT,
                                        LedgerAccount.key == external_account_key(
                                            EXTERNAL_PAYOUTS, currency)),
        )


def _transaction_view(transaction: LedgerTransaction, status: str,
                      keys: dict[int, str], wallet_key: str) -> TransactionView:
    entries = [EntryView(keys[e.account_id], e.amount_minor) for e in transaction.entries]
    return TransactionView(
        id=transaction.id, type=transaction.kind, status=status,
        amount_minor=sum(e.amount_minor for e in entries if e.account == wallet_key),
        fee_minor=sum(e.amount_minor for e in entries if e.account.startswith("platform:fees")),
        payment_id=transaction.payment_id, withdrawal_id=transaction.withdrawal_id,
        description=transaction.description, created_at=transaction.created_at, entries=entries,
    )


def list_transactions(ctx: Context, tenant_id: str, *, type: str | None = None,
                      status: str | None = None, created_from: datetime | None = None,
                      created_to: datetime | None = None, page: int = 1,
                      page_size: int = 50) -> Page[TransactionView]:
    """Newest first. The status is the withdrawal's for withdrawal moves, else "completed"."""
    status_of = func.coalesce(Withdrawal.status, COMPLETED)
    query = (select(LedgerTransaction)
             .outerjoin(Withdrawal, Withdrawal.id == LedgerTransaction.withdrawal_id)
             .where(LedgerTransaction.tenant_id == tenant_id))
    if type:
        query = query.where(LedgerTransaction.kind == type)
    if status:
        query = query.where(status_of == status)
    if created_from:
        query = query.where(LedgerTransaction.created_at >= created_from)
    if created_to:
        query = query.where(LedgerTransaction.created_at < created_to)
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        count, rows = fetch_page(session, query, page, page_size, LedgerTransaction.id.desc())
        account_ids = {e.account_id for t in rows for e in t.entries}
        keys = dict(session.execute(select(LedgerAccount.id, LedgerAccount.key).where(
            LedgerAccount.id.in_(account_ids))).all()) if account_ids else {}
        statuses = dict(session.execute(select(Withdrawal.id, Withdrawal.status).where(
            Withdrawal.id.in_({t.withdrawal_id for t in rows if t.withdrawal_id}))).all())
        wallet_key = tenant_account_key(tenant_id, TENANT_WALLET, currency)
        return Page(count, page, page_size, [
            _transaction_view(t, statuses.get(t.withdrawal_id or 0, COMPLETED), keys, wallet_key)
            for t in rows])


# --- withdrawals ------------------------------------------------------------------------------

def _withdrawal_view(ctx: Context, row: Withdrawal) -> WithdrawalView:
    return WithdrawalView(
        id=row.id, amount_minor=row.amount_minor, currency=row.currency, status=row.status,
        phone=ctx.crypto.decrypt(row.phone_encrypted), requested_by=row.requested_by,
        approved_by=row.approved_by, provider_transaction_id=row.provider_transaction_id,
        failure_reason=row.failure_reason, created_at=row.created_at, updated_at=row.updated_at)


def request_withdrawal(ctx: Context, tenant_id: str, amount_minor: int, phone: str,
                       actor: str) -> WithdrawalView:
    """Hold the amount at once (409 when the available balance is short)."""
    minimum = ctx.settings.min_withdrawal_minor
    if amount_minor < minimum:
        raise InvalidInput(f"The smallest withdrawal is {minimum / 100:,.2f}",
                           {"amount_minor": [f"At least {minimum}."]})
    if amount_minor % 100:
        raise InvalidInput("M-Pesa pays whole shillings",
                           {"amount_minor": ["A multiple of 100."]})
    e164 = kenyan_mobile(phone)
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        wallet_key = tenant_account_key(tenant_id, TENANT_WALLET, currency)
        # Lock the wallet: concurrent withdrawals are checked one after the other.
        _account(session, wallet_key, tenant_id, TENANT_WALLET, currency, lock=True)
        available = balance(session, wallet_key)
        if available < amount_minor:
            raise Conflict(f"Only {available / 100:,.2f} {currency} is available to withdraw")
        row = Withdrawal(tenant_id=tenant_id, amount_minor=amount_minor, currency=currency,
                         status=PENDING_APPROVAL, phone_encrypted=ctx.crypto.encrypt(e164),
                         requested_by=actor, originator_conversation_id=uuid.uuid4().hex)
        session.add(row)
        session.flush()
        post_transaction(session, tenant_id, WITHDRAWAL_HOLD,
                         move_legs(wallet_key, tenant_account_key(tenant_id, TENANT_HELD,
                                                                  currency), amount_minor),
                         currency, withdrawal_id=row.id,
                         description=f"Withdrawal {row.id} held until paid")
        _audit(session, tenant_id, "withdrawal_requested", actor, row.id,
               amount_minor=amount_minor)
        view = _withdrawal_view(ctx, row)
        record_audit(session, tenant_id, actor, "withdrawal.request", ("withdrawal", row.id),
                     after=view)
        return view


def _locked_withdrawal(session: Session, tenant_id: str, withdrawal_id: int) -> Withdrawal:
    row = tenant_row(session, Withdrawal, withdrawal_id, tenant_id, "withdrawal")
    session.refresh(row, with_for_update=True)
    return row


def approve_withdrawal(ctx: Context, tenant_id: str, withdrawal_id: int,
                       actor: str | None) -> WithdrawalView:
    """A second user approves (the requester cannot: 409); the payout is then queued by the
    operator's payout run."""
    with ctx.db.transaction() as session:
        row = _locked_withdrawal(session, tenant_id, withdrawal_id)
        if actor is None:
            raise Unauthenticated("Approving a withdrawal needs a merchant user's API key")
        if row.status != PENDING_APPROVAL:
            raise Conflict(f"Withdrawal {row.id} is {row.status}, not pending_approval")
        if row.requested_by == actor:
            raise Conflict("A withdrawal must be approved by a different user than the one "
                           "who requested it")
        before = _withdrawal_view(ctx, row)
        row.status, row.approved_by = APPROVED, actor
        _audit(session, tenant_id, "withdrawal_approved", actor, row.id)
        session.flush()
        view = _withdrawal_view(ctx, row)
        record_audit(session, tenant_id, actor, "withdrawal.approve", ("withdrawal", row.id),
                     before, view)
        return view


def get_withdrawal(ctx: Context, tenant_id: str, withdrawal_id: int) -> WithdrawalView:
    with ctx.db.transaction() as session:
        return _withdrawal_view(ctx, tenant_row(session, Withdrawal, withdrawal_id, tenant_id,
                                                "withdrawal"))


def list_withdrawals(ctx: Context, tenant_id: str, status: str | None = None, page: int = 1,
                     page_size: int = 50) -> Page[WithdrawalView]:
    query = select(Withdrawal).where(Withdrawal.tenant_id == tenant_id)
    if status:
        query = query.where(Withdrawal.status == status)
    with ctx.db.transaction() as session:
        count, rows = fetch_page(session, query, page, page_size, Withdrawal.id.desc())
        return Page(count, page, page_size, [_withdrawal_view(ctx, r) for r in rows])


def start_payouts(ctx: Context, limit: int = 100) -> list[int]:
    """Move approved withdrawals to processing; returns their ids (the caller queues them)."""
    with ctx.db.transaction() as session:
        rows = list(session.scalars(select(Withdrawal).where(Withdrawal.status == APPROVED)
                                    .order_by(Withdrawal.id).limit(limit).with_for_update()))
        for row in rows:
            row.status = PROCESSING
            _audit(session, row.tenant_id, "payout_started", "operator", row.id)
        return [row.id for row in rows]


@dataclass(frozen=True)
class PayoutRequest:
    withdrawal_id: int
    tenant_id: str
    amount_minor: int
    phone: str
    originator_conversation_id: str


def payout_request(ctx: Context, withdrawal_id: int) -> PayoutRequest | None:
    with ctx.db.transaction() as session:
        row = session.get(Withdrawal, withdrawal_id)
        if row is None or row.status != PROCESSING or row.conversation_id:
            return None
        return PayoutRequest(row.id, row.tenant_id, row.amount_minor,
                             ctx.crypto.decrypt(row.phone_encrypted),
                             row.originator_conversation_id)


def payout_accepted(ctx: Context, withdrawal_id: int, conversation_id: str) -> None:
    with ctx.db.transaction() as session:
        row = session.get(Withdrawal, withdrawal_id, with_for_update=True)
        if row is not None and row.conversation_id is None:
            row.conversation_id = conversation_id


def finish_payout(ctx: Context, originator_conversation_id: str, succeeded: bool,
                  reason: str, transaction_id: str | None = None) -> str:
    """Apply B2C's result once: paid (held → out) or failed (held → back to the wallet)."""
    with ctx.db.transaction() as session:
        row = session.scalar(select(Withdrawal).where(
            Withdrawal.originator_conversation_id == originator_conversation_id
        ).with_for_update())
        if row is None:
            return "unknown_reference"
        if row.status not in (PROCESSING, APPROVED):
            return "duplicate"
        held = tenant_account_key(row.tenant_id, TENANT_HELD, row.currency)
        if succeeded:
            row.status, row.provider_transaction_id = PAID, transaction_id
            post_transaction(session, row.tenant_id, PAYOUT,
                             move_legs(held, external_account_key(EXTERNAL_PAYOUTS, row.currency),
                                       row.amount_minor), row.currency, withdrawal_id=row.id,
                             description=f"Withdrawal {row.id} paid by M-Pesa {transaction_id}")
        else:
            row.status, row.failure_reason = FAILED, reason
            post_transaction(session, row.tenant_id, WITHDRAWAL_RELEASE,
                             move_legs(held, tenant_account_key(row.tenant_id, TENANT_WALLET,
                                                                row.currency), row.amount_minor),
                             row.currency, withdrawal_id=row.id,
                             description=f"Withdrawal {row.id} failed; funds returned")
        _audit(session, row.tenant_id, "payout_paid" if succeeded else "payout_failed",
               "mpesa", row.id, reason=reason, transaction_id=transaction_id)
        return "processed"


def audit_trail(ctx: Context, tenant_id: str, withdrawal_id: int) -> list[dict[str, Any]]:
    with ctx.db.transaction() as session:
        tenant_row(session, Withdrawal, withdrawal_id, tenant_id, "withdrawal")
        rows = session.scalars(select(WalletAuditEvent).where(
            WalletAuditEvent.withdrawal_id == withdrawal_id).order_by(WalletAuditEvent.id))
        return [{"action": r.action, "actor": r.actor, "detail": r.detail,
                 "created_at": r.created_at} for r in rows]
