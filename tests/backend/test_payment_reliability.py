"""Reliability on PostgreSQL and Redis with several RQ worker processes: 1,000 M-Pesa callbacks
for 200 payments, duplicated, shuffled and delivered concurrently over HTTP, are applied so
that every payment is credited exactly once, every ledger transaction sums to zero, and each
wallet balance equals the sum of its entries; mismatched amounts are flagged, never credited."""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from redis import Redis

from backend.wiring import Context
from backend.domain.ledger import split_fee
from backend.domain.money import Money
from backend.domain.tiers import DEFAULT_TIERS as TIERS
from backend.services.catalog.listing import NewProduct, NewVariant, add_products
from backend.services.conversations.inbound import IncomingMessage, record_inbound
from backend.services.orders.orders import place_order
from tests.backend.conftest import (
    FERNET_KEY,
    HASH_KEY,
    SERVICE_TOKEN,
    TENANT_ID,
    TENANT_KEY,
    TENANT_NUMBER,
    TENANT_SID,
    TENANT_TOKEN,
    add_tenant,
    merchant_headers,
    require_service_env,
)
from tests.backend.payment_helpers import (
    FakeRasa,
    configure_payments,
    make_payment,
    scalar,
    stk_callback,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
PAYMENTS, COPIES, MISMATCHED, WORKERS = 200, 5, 20, 3
PRICE_MINOR = 25_000  # KES 250


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = require_service_env("TEST_REDIS_URL").rsplit("/", 1)[0] + "/11"
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa([{"text": "Payment received, thank you!"}])
    yield fake
    fake.close()


def start_workers(env: dict[str, str], redis_url: str, count: int) -> list[subprocess.Popen]:
    command = [str(Path(sys.executable).parent / "rq"), "worker", "default", "messaging",
               "--url", redis_url, "--worker-class", "rq.SimpleWorker", "--with-scheduler",
               "--quiet"]
    # Their log lines go to a file: a pipe nobody reads fills up (64 KiB) and blocks the worker
    # inside a log call, with the handler's lock held.
    return [subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=tempfile.TemporaryFile()) for _ in range(count)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_thousand_callbacks_credit_every_payment_exactly_once(
        live_server, database_url: str, redis_url: str, rasa: FakeRasa) -> None:
    server = live_server(redis_url=redis_url, rasa_url=rasa.url)
    ctx: Context = server.app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    configure_payments(ctx)
    add_products(ctx, TENANT_ID, [NewProduct("Bulk item", "", "misc", [
        NewVariant("BULK-1", Money(PRICE_MINOR, "KES"), 100_000, {})])])
    variant = scalar(ctx, "SELECT id FROM product_variants WHERE sku = 'BULK-1'")
    # Customers who pay in a chat: each wrote just now, so the receipt may be free text.
    customers = [record_inbound(ctx, IncomingMessage(
        TENANT_ID, f"+2547120100{n:02d}", f"SMreliability{n:02d}", "nataka kulipa")).customer_id
        for n in range(20)]
    payments: list[tuple[int, str, bool]] = []
    for n in range(PAYMENTS):
        order = place_order(ctx, TENANT_ID, customers[n % 20], [(variant, 1)]).order
        reference = f"ws_CO_reliability_{n:04d}"
        payments.append((make_payment(ctx, order.id, "daraja", reference), reference,
                         n < MISMATCHED))
    callbacks = [stk_callback(reference, amount=(1.0 if mismatched else PRICE_MINOR / 100),
                              receipt=f"RCPT{n:06d}")
                 for n, (_, reference, mismatched) in enumerate(payments)
                 for _ in range(COPIES)]
    random.Random(7).shuffle(callbacks)
    assert len(callbacks) == 1000
    url = next(v for k, v in client_urls(server).items() if k == "mpesa_stk")
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SERVICE_TOKEN": SERVICE_TOKEN, "ENCRYPTION_KEY": FERNET_KEY, "HASH_KEY": HASH_KEY,
           "SANDBOX": "1", "BACKEND_PORT": str(server.port), "RASA_URL": rasa.url,
           "PYTHONPATH": str(REPO)}
    workers = start_workers(env, redis_url, WORKERS)
    try:
        with requests.Session() as http, ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda body: http.post(url, json=body, timeout=30),
                                    callbacks))
        refused = {(a.status_code, a.text[:300]) for a in answers if a.status_code != 200}
        assert not refused, refused
        wait_for(lambda: scalar(ctx, "SELECT count(*) FROM payment_events WHERE status = "
                                     "'received'") == 0, timeout=120)
        wait_for(lambda: scalar(ctx, "SELECT count(*) FROM payments WHERE notified_at IS NOT "
                                     "NULL") == PAYMENTS - MISMATCHED, timeout=120)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    assert all(worker.returncode is not None for worker in workers)
    assert scalar(ctx, "SELECT count(*) FROM payment_events") == PAYMENTS
    credited = PAYMENTS - MISMATCHED
    assert scalar(ctx, "SELECT count(*) FROM payments WHERE status = 'succeeded'") == credited
    assert scalar(ctx, "SELECT count(DISTINCT payment_id) FROM ledger_transactions WHERE kind = "
                       "'payment'") == credited
    assert scalar(ctx, "SELECT count(*) FROM ledger_transactions") == credited
    assert scalar(ctx, "SELECT count(*) FROM payments WHERE status = 'pending' AND "
                       "review_reason IS NOT NULL") == MISMATCHED
    assert scalar(ctx, "SELECT count(*) FROM orders WHERE status = 'paid'") == credited
    assert scalar(ctx, "SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries GROUP "
                       "BY transaction_id HAVING sum(amount_minor) <> 0) AS t") == 0
    split = split_fee(PRICE_MINOR, TIERS["starter"].fee_basis_points)
    wallet = server.app.test_client().get("/v1/wallet", headers=merchant_headers()).get_json()
    entries = scalar(ctx, "SELECT sum(e.amount_minor) FROM ledger_entries e JOIN "
                          "ledger_accounts a ON a.id = e.account_id WHERE a.key = :k",
                     k=f"tenant:{TENANT_ID}:wallet:KES")
    assert wallet["available_minor"] == entries == credited * split.net_minor
    assert wallet["fees_minor"] == credited * split.fee_minor
    assert len(rasa.calls) == credited  # one notice per credited payment
    assert scalar(ctx, "SELECT count(*) FROM outbound_messages") == credited


def client_urls(server) -> dict[str, str]:
    body = server.app.test_client().get("/v1/payment-settings",
                                        headers=merchant_headers()).get_json()
    return dict(body["callback_urls"])
