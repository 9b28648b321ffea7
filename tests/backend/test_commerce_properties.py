"""Property tests (hypothesis): order totals, and the order status machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.errors import Conflict, InvalidInput
from backend.domain.orders import (
    CANCELLED,
    DELIVERED,
    DRAFT,
    HOLDS_STOCK,
    ORDER_STATUSES,
    PENDING_PAYMENT,
    REFUNDED,
    TRANSITIONS,
    InvalidTransition,
    Line,
    check_transition,
    order_total,
    stock_effect,
)

prices = st.integers(min_value=0, max_value=10**9)
quantities = st.integers(min_value=1, max_value=10_000)
lines = st.lists(st.builds(Line, prices, quantities), max_size=50)


@given(lines)
def test_total_is_the_sum_of_price_times_quantity(order_lines: list[Line]) -> None:
    total = order_total(order_lines)
    assert isinstance(total, int) and not isinstance(total, bool)
    assert total >= 0
    assert total == sum(line.unit_price_minor * line.quantity for line in order_lines)
    assert all(total >= line.total_minor for line in order_lines)


@given(lines, lines)
def test_totals_add_up_across_splits(first: list[Line], second: list[Line]) -> None:
    assert order_total(first + second) == order_total(first) + order_total(second)


@given(st.one_of(st.integers(max_value=-1), st.floats(allow_nan=False), st.booleans()),
       quantities)
def test_negative_or_non_integer_prices_are_refused(price, quantity) -> None:
    with pytest.raises(InvalidInput):
        Line(price, quantity)


@given(prices, st.integers(max_value=0))
def test_quantities_below_one_are_refused(price: int, quantity: int) -> None:
    with pytest.raises(InvalidInput):
        Line(price, quantity)


@given(st.lists(st.sampled_from(ORDER_STATUSES), max_size=30))
def test_random_transition_sequences_stay_valid(attempts: list[str]) -> None:
    status, reserved, history = DRAFT, 0, [DRAFT]
    for to in attempts:
        allowed = to in TRANSITIONS[status]
        try:
            check_transition(status, to)
        except InvalidTransition:
            assert not allowed
            continue
        assert allowed
        reserved += stock_effect(status, to)
        status = to
        history.append(status)
        # Stock is held exactly while the order is in a holding status; never twice.
        assert reserved == (1 if status in HOLDS_STOCK else 0)
    assert status in ORDER_STATUSES
    # Terminal statuses are terminal; cancelled only ever follows draft or pending_payment.
    for before, after in zip(history, history[1:], strict=False):
        assert before not in (DELIVERED, CANCELLED, REFUNDED)
        if after == CANCELLED:
            assert before in (DRAFT, PENDING_PAYMENT)
        if after == REFUNDED:
            assert before == "paid"


@given(st.sampled_from(ORDER_STATUSES), st.text(max_size=12))
def test_unknown_targets_are_invalid_input_not_conflicts(status: str, to: str) -> None:
    if to in ORDER_STATUSES:
        return
    with pytest.raises(InvalidInput):
        check_transition(status, to)


def test_invalid_transition_is_a_conflict() -> None:
    assert issubclass(InvalidTransition, Conflict)
