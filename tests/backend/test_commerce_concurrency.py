"""Concurrent orders never oversell and concurrent bookings never overbook.

Every thread has its own engine (its own connection) and goes through the service layer, all
released at once by a barrier. The brief asks for PostgreSQL; SQLite (one writer at a time) is
held to the same results.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, time
from typing import Any

import pytest

from backend.wiring import Context
from backend.db import Database
from backend.domain.errors import Conflict
from backend.domain.money import Money
from backend.services.bookings.appointments import SlotFull, book
from backend.services.catalog.listing import NewProduct, NewVariant, add_products
from backend.services.bookings.services import NewService, NewServiceVariant, NewWindow, create_service
from backend.services.orders.orders import place_order
from tests.backend.commerce_helpers import customer, next_weekday, stock
from tests.backend.conftest import TENANT_ID


@pytest.fixture
def pg(make_app: Callable[..., Any]) -> Context:
    context: Context = make_app().extensions["backend"]
    return context


@pytest.fixture
def contexts(pg: Context) -> Iterator[Callable[[], Context]]:
    made: list[Database] = []

    def new() -> Context:
        database = Database(pg.db.url)
        made.append(database)
        return dataclasses.replace(pg, db=database)

    yield new
    for database in made:
        database.dispose()


def run_together(calls: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            outcome = call()
        except BaseException as error:  # noqa: BLE001 - collected and asserted on below
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_fifty_parallel_orders_for_ten_in_stock(pg, tenants, contexts) -> None:
    add_products(pg, TENANT_ID, [NewProduct("Hot Sneakers", "", "shoes", [
        NewVariant("HOT-1", Money(150000, "KES"), 10)])])
    from sqlalchemy import text

    with pg.db.engine.connect() as connection:
        variant = connection.execute(text("SELECT id FROM product_variants WHERE sku = 'HOT-1'")
                                     ).scalar_one()
    buyers = [customer(pg, f"+2547130000{n:02d}") for n in range(50)]
    calls = []
    for buyer in buyers:
        ctx = contexts()
        calls.append(lambda ctx=ctx, buyer=buyer: place_order(ctx, TENANT_ID, buyer,
                                                              [(variant, 1)]))
    results, errors = run_together(calls)
    assert len(results) == 10, errors[:3]
    assert len(errors) == 40 and all(isinstance(e, Conflict) for e in errors), errors[:3]
    assert stock(pg, variant) == 0
    with pg.db.engine.connect() as connection:
        placed = connection.execute(text(
            "SELECT count(*), coalesce(sum(quantity), 0) FROM order_lines WHERE variant_id = :v"),
            {"v": variant}).one()
    assert tuple(placed) == (10, 10)


def test_twenty_parallel_bookings_for_three_seats(pg, tenants, contexts) -> None:
    service = create_service(pg, TENANT_ID, NewService(
        "Manicure", variants=[NewServiceVariant("Classic", 30, Money(80000, "KES"))],
        windows=[NewWindow(time(10, 0), time(12, 0), capacity=3, weekday=2)]))
    variant = service.variants[0].id
    day = next_weekday(2)
    starts_at = datetime.combine(day, time(10, 30))  # local time
    buyers = [customer(pg, f"+2547140000{n:02d}") for n in range(20)]
    calls = []
    for buyer in buyers:
        ctx = contexts()
        calls.append(lambda ctx=ctx, buyer=buyer: book(ctx, TENANT_ID, buyer, variant, starts_at))
    results, errors = run_together(calls)
    assert len(results) == 3, errors[:3]
    assert len(errors) == 17 and all(isinstance(e, SlotFull) for e in errors), errors[:3]
    assert all(e.alternatives for e in errors)  # 10:00, 11:00, 11:30 are still free
    assert len({r.appointment.customer_id for r in results}) == 3
