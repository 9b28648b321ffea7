"""The ledger: fee splits that never lose a cent, legs that must sum to zero (checked by the
service everywhere and by the database itself on PostgreSQL), balances derived from entries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.wiring import Context
from backend.domain.errors import InvalidInput
from backend.domain.ledger import (
    Leg,
    UnbalancedTransaction,
    check_balanced,
    payment_legs,
    split_fee,
)
from backend.domain.tiers import DEFAULT_TIERS as TIERS
from backend.services.payments.wallets import balance, post_transaction
from tests.backend.conftest import TENANT_ID


@given(amount=st.integers(min_value=1, max_value=10**12),
       bps=st.integers(min_value=0, max_value=10_000))
def test_fee_and_net_always_add_up_to_the_amount(amount: int, bps: int) -> None:
    split = split_fee(amount, bps)
    assert split.fee_minor + split.net_minor == amount
    assert 0 <= split.fee_minor <= amount
    exact = amount * bps / 10_000
    assert abs(split.fee_minor - exact) <= 0.5  # rounded to the nearest cent
    legs = payment_legs("t", "KES", split)
    assert sum(leg.amount_minor for leg in legs) == 0


@pytest.mark.parametrize("amount, bps, fee", [
    (180000, 300, 5400), (199, 250, 5), (1, 250, 0), (20, 250, 1), (100, 50, 1), (99, 50, 0),
])
def test_fee_rounds_half_up(amount: int, bps: int, fee: int) -> None:
    assert split_fee(amount, bps).fee_minor == fee


def test_tier_fees_are_valid_basis_points() -> None:
    for tier in TIERS.values():
        assert 0 <= tier.fee_basis_points <= 10_000


def test_unbalanced_or_degenerate_legs_are_refused() -> None:
    with pytest.raises(UnbalancedTransaction):
        check_balanced([Leg("a", 100), Leg("b", -99)])
    with pytest.raises(UnbalancedTransaction):
        check_balanced([Leg("a", 0), Leg("b", 0)])
    with pytest.raises(InvalidInput):
        split_fee(0, 100)
    with pytest.raises(InvalidInput):
        split_fee(100, 10_001)


def test_the_service_refuses_unbalanced_transactions_on_every_database(tenants: Context) -> None:
    with pytest.raises(UnbalancedTransaction):
        with tenants.db.transaction() as session:
            post_transaction(session, TENANT_ID, "payment",
                             [Leg("external:customer_payments:KES", -100),
                              Leg(f"tenant:{TENANT_ID}:wallet:KES", 99)], "KES")
    with tenants.db.transaction() as session:
        post_transaction(session, TENANT_ID, "payment",
                         [Leg("external:customer_payments:KES", -100),
                          Leg(f"tenant:{TENANT_ID}:wallet:KES", 97),
                          Leg("platform:fees:KES", 3)], "KES")
    with tenants.db.transaction() as session:
        assert balance(session, f"tenant:{TENANT_ID}:wallet:KES") == 97
        assert balance(session, "platform:fees:KES") == 3
        assert balance(session, "external:customer_payments:KES") == -100


def test_postgresql_itself_refuses_entries_that_do_not_balance(tenants: Context) -> None:
    if tenants.db.engine.dialect.name != "postgresql":
        pytest.skip("the zero-sum trigger is PostgreSQL's")
    with tenants.db.transaction() as session:
        post_transaction(session, TENANT_ID, "payment",
                         [Leg("external:customer_payments:KES", -500),
                          Leg(f"tenant:{TENANT_ID}:wallet:KES", 500)], "KES")
    with tenants.db.engine.connect() as connection:
        txn, account = connection.execute(text(
            "SELECT transaction_id, account_id FROM ledger_entries LIMIT 1")).one()
    # Raw SQL around the service: an extra leg, an edited amount, a deleted leg.
    for statement in (
        f"INSERT INTO ledger_entries (transaction_id, account_id, amount_minor, currency) "
        f"VALUES ({txn}, {account}, 1, 'KES')",
        f"UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE transaction_id = {txn} "
        f"AND account_id = {account}",
        f"DELETE FROM ledger_entries WHERE transaction_id = {txn} AND account_id = {account}",
    ):
        with pytest.raises(DBAPIError, match="does not balance"):
            with tenants.db.engine.begin() as connection:
                connection.execute(text(statement))
    with tenants.db.engine.connect() as connection:
        assert connection.execute(text(
            f"SELECT sum(amount_minor) FROM ledger_entries WHERE transaction_id = {txn}")
        ).scalar() == 0
