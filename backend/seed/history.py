"""`python -m backend.seed --history demo-shop`: a year of history for one tenant, for the
dashboard's numbers and `make bench` (100,000 messages and 10,000 orders by default).

Written with bulk inserts (one executemany per table and chunk), deterministic (a fixed random
seed), ending yesterday in the tenant's timezone; then the year is rolled up, as the nightly job
would have done. A tenant that already has the history is left alone (a second run adds
nothing).

What a year holds: customers (a tenth of the conversations, a few new each day), conversations
of two to four inbound messages each answered by the assistant (replies delivered or read), the
NLU log of every inbound message (a share of them falling back), orders placed in conversations
(paid, delivered, cancelled or waiting) with one to three lines of the tenant's products (a
small history catalog is added when the tenant has none), one payment attempt per order (M-Pesa
STK or card),
handoffs with the merchant's reply, FAQ answers and LLM calls.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from backend.domain import analytics as rules
from backend.models import (
    Conversation,
    ConversationHandoff,
    Customer,
    InboundMessage,
    LlmCall,
    NluClassification,
    Order,
    OrderLine,
    OutboundMessage,
    Payment,
    Product,
    ProductVariant,
)
from backend.models.analytics import FaqAnswerLog
from backend.models.base import utcnow
from backend.services.analytics.rollup import rollup_range
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

MARK = "HIST"  # inbound provider sids of the seeded history start with it
CHUNK = 5_000
INTENTS = (("greet", 30), ("browse_products", 20), ("place_order", 15), ("ask_price", 10),
           ("check_order_status", 8), ("ask_faq", 7), ("goodbye", 5), ("nlu_fallback", 5))
ORDER_STATUSES = (("paid", 25), ("fulfilled", 15), ("delivered", 35), ("cancelled", 15),
                  ("pending_payment", 5), ("refunded", 5))


@dataclass(frozen=True)
class HistoryReport:
    tenant_id: str
    created: bool
    customers: int
    conversations: int
    messages: int
    orders: int
    days_rolled_up: int
    seconds: float


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _insert(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start:start + CHUNK])


def _insert_ids(session: Any, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert returning the new ids in the rows' order (PostgreSQL and SQLite ≥ 3.35)."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        ids.extend(session.scalars(
            insert(model).returning(model.id, sort_by_parameter_order=True),
            rows[start:start + CHUNK]))
    return ids


HISTORY_PRODUCTS = (("Maasai shuka", 250_000), ("Kikoy beach towel", 180_000),
                    ("Leather sandals", 320_000), ("Kiondo basket", 450_000),
                    ("Kenyan tea 500 g", 65_000), ("Beaded bracelet", 90_000))


def _catalog(session: Any, tenant_id: str, currency: str) -> list[tuple[int, str, str, int]]:
    """The tenant's variants to sell: (id, sku, title, price); a small catalog when it has
    none."""
    found = [tuple(row) for row in session.execute(
        select(ProductVariant.id, ProductVariant.sku, Product.title, ProductVariant.price_minor)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.tenant_id == tenant_id, Product.tenant_id == tenant_id)
        .order_by(ProductVariant.id))]
    if found:
        return found  # type: ignore[return-value]
    made = []
    for n, (title, price) in enumerate(HISTORY_PRODUCTS):
        product = Product(tenant_id=tenant_id, title=title, category="history")
        session.add(product)
        session.flush()
        variant = ProductVariant(tenant_id=tenant_id, product_id=product.id, sku=f"HIST-{n}",
                                 price_minor=price, currency=currency, stock=1_000)
        session.add(variant)
        session.flush()
        made.append((variant.id, variant.sku, title, price))
    return made


def seed_history(ctx: Context, tenant_id: str, messages: int = 100_000, orders: int = 10_000,
                 days: int = 365, now: datetime | None = None, seed: int = 18) -> HistoryReport:
    started = time.monotonic()
    rng = random.Random(seed)
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        timezone, currency = tenant.timezone, tenant.currency
        if session.scalar(select(InboundMessage.id).where(
                InboundMessage.tenant_id == tenant_id,
                InboundMessage.provider_sid.like(f"{MARK}%")).limit(1)) is not None:
            return HistoryReport(tenant_id, False, 0, 0, 0, 0, 0,
                                 round(time.monotonic() - started, 2))
    last_day = rules.local_day(timezone, moment) - timedelta(days=1)
    first_day = last_day - timedelta(days=days - 1)
    start_utc = rules.day_bounds(timezone, first_day)[0].astimezone(UTC)

    # Two messages per exchange (inbound + reply), about three exchanges per conversation.
    exchanges = messages // 2
    conversations = max(1, exchanges // 3)
    customers = max(10, conversations // 10)
    orders = min(orders, conversations)

    def daytime() -> datetime:
        """A moment of the year in the shop's day (07:00-21:00 Nairobi, 04:00-18:00 UTC)."""
        return start_utc + timedelta(days=rng.randrange(days),
                                     seconds=rng.randint(4 * 3600, 18 * 3600))

    starts = sorted(daytime() for _ in range(conversations))
    owners = [rng.randrange(customers) for _ in range(conversations)]
    first_seen: dict[int, datetime] = {}
    for begin, owner in zip(starts, owners):
        first_seen.setdefault(owner, begin)
    with ctx.db.transaction() as session:
        phones = [f"+2547{(90_000_000 + n):08d}" for n in range(customers)]
        encrypted = [ctx.crypto.encrypt(phone) for phone in phones]
        hashes = [ctx.crypto.keyed_hash(phone) for phone in phones]
        customer_ids = _insert_ids(session, Customer, [
            {"tenant_id": tenant_id, "phone_encrypted": encrypted[n], "phone_hash": hashes[n],
             "ref": f"c{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}",
             "profile_name": f"Customer {n}", "created_at": first_seen.get(n, start_utc)}
            for n in range(customers)])

        conv_rows = [{"tenant_id": tenant_id, "customer_id": customer_ids[owner],
                      "status": "closed", "started_at": begin, "last_inbound_at": begin,
                      "last_message_at": begin} for begin, owner in zip(starts, owners)]
        inbound, outbound, nlu = [], [], []
        plan, left = [], exchanges
        for index in range(len(conv_rows)):
            count = left if index == len(conv_rows) - 1 else min(left, rng.randint(2, 4))
            plan.append(max(count, 0))
            left -= plan[-1]
        # Times first (the conversation's last message is needed before it is inserted).
        timelines = []
        for row, count in zip(conv_rows, plan):
            at, times = row["started_at"], []
            for _ in range(count):
                replied = at + timedelta(seconds=rng.randint(2, 8))
                times.append((at, replied))
                at = replied + timedelta(seconds=rng.randint(30, 300))
            if times:
                row["last_inbound_at"], row["last_message_at"] = times[-1][0], times[-1][1]
            timelines.append(times)
        conv_ids = _insert_ids(session, Conversation, conv_rows)
        for conv_id, row, owner, times in zip(conv_ids, conv_rows, owners, timelines):
            row["id"] = conv_id
            row["owner"] = owner
            for k, (asked, replied) in enumerate(times):
                sid = f"{MARK}{conv_id:010d}{k:02d}"
                intent = _weighted(rng, INTENTS)
                inbound.append({"tenant_id": tenant_id, "customer_id": row["customer_id"],
                                "conversation_id": conv_id, "provider_sid": sid,
                                "body": intent.replace("_", " "), "media": [],
                                "created_at": asked})
                nlu.append({"tenant_id": tenant_id, "customer_id": row["customer_id"],
                            "conversation_id": conv_id, "message_id": sid, "message_sid": sid,
                            "text": intent.replace("_", " "), "intent": intent,
                            "confidence": 0.25 if intent == "nlu_fallback" else 0.9,
                            "language": "en", "ranking": [], "entities": [],
                            "created_at": asked})
                outbound.append({
                    "tenant_id": tenant_id, "customer_id": row["customer_id"],
                    "conversation_id": conv_id, "to_phone_encrypted": encrypted[owner],
                    "to_phone_hash": hashes[owner], "body": "...", "in_reply_to": sid,
                    "status": "read" if rng.random() < 0.7 else "delivered", "attempts": 1,
                    "kind": "reply", "urgent": False, "due_at": replied,
                    "batch_id": uuid.UUID(int=rng.getrandbits(128)).hex, "position": 0,
                    "created_at": replied, "updated_at": replied})
        _insert(session, InboundMessage, inbound)
        _insert(session, OutboundMessage, outbound)
        _insert(session, NluClassification, nlu)

        # Orders in conversations, of one to three lines, one payment attempt each.
        catalog = _catalog(session, tenant_id, currency)
        order_rows, baskets, chosen = [], [], rng.sample(range(len(conv_rows)), orders)
        for index in sorted(chosen):
            conv = conv_rows[index]
            placed = conv["started_at"] + (conv["last_message_at"] - conv["started_at"]) / 2
            basket = [(variant, rng.randint(1, 3))
                      for variant in rng.sample(catalog, min(len(catalog), rng.randint(1, 3)))]
            baskets.append(basket)
            order_rows.append({"tenant_id": tenant_id, "customer_id": conv["customer_id"],
                               "status": _weighted(rng, ORDER_STATUSES), "currency": currency,
                               "total_minor": sum(v[3] * q for v, q in basket),
                               "placed_at": placed, "created_at": placed,
                               "updated_at": placed})
        order_ids = _insert_ids(session, Order, order_rows)
        _insert(session, OrderLine, [
            {"tenant_id": tenant_id, "order_id": order_id, "variant_id": variant_id, "sku": sku,
             "title": title, "unit_price_minor": price, "quantity": quantity,
             "line_total_minor": price * quantity}
            for order_id, basket in zip(order_ids, baskets)
            for (variant_id, sku, title, price), quantity in basket])
        payments = []
        for order_id, row in zip(order_ids, order_rows):
            card = rng.random() < 0.2
            ok = row["status"] in ("paid", "fulfilled", "delivered", "refunded")
            payments.append({
                "tenant_id": tenant_id, "order_id": order_id, "customer_id": row["customer_id"],
                "method": "card" if card else "mpesa_stk",
                "provider": "paystack" if card else "daraja",
                "status": "succeeded" if ok else rng.choice(("failed", "expired")),
                "amount_minor": row["total_minor"], "currency": currency,
                "created_at": row["placed_at"] + timedelta(seconds=20),
                "updated_at": row["placed_at"] + timedelta(seconds=60)})
        _insert(session, Payment, payments)

        # Handoffs (1 in 50 conversations) with the merchant's reply, FAQ answers, LLM calls.
        handoffs, human = [], []
        for row in conv_rows[::50]:
            asked = row["last_message_at"]
            handoffs.append({"tenant_id": tenant_id, "conversation_id": row["id"],
                             "reason": "requested", "requested_by": "assistant",
                             "requested_at": asked, "resumed_by": "merchant",
                             "resumed_at": asked + timedelta(hours=1)})
            reply = asked + timedelta(seconds=rng.randint(60, 1800))
            human.append({
                "tenant_id": tenant_id, "customer_id": row["customer_id"],
                "conversation_id": row["id"], "to_phone_encrypted": encrypted[row["owner"]],
                "to_phone_hash": hashes[row["owner"]], "body": "...", "in_reply_to": None,
                "status": "read", "attempts": 1, "kind": "reply", "urgent": False, "due_at": reply,
                "batch_id": uuid.UUID(int=rng.getrandbits(128)).hex, "position": 0,
                "created_at": reply, "updated_at": reply})
        _insert(session, ConversationHandoff, handoffs)
        _insert(session, OutboundMessage, human)
        faq = [{"tenant_id": tenant_id, "answered": rng.random() < 0.8, "method": "faq",
                "language": "en", "created_at": row["created_at"]}
               for row in nlu if row["intent"] == "ask_faq"]
        for row in faq:
            if not row["answered"]:
                row["method"] = "none"
        _insert(session, FaqAnswerLog, faq)
        _insert(session, LlmCall, [
            {"tenant_id": tenant_id, "purpose": "classify", "model": "seed-model",
             "tokens_in": 300, "tokens_out": 20, "cost_micros": rng.randint(500, 3_000),
             "currency": currency, "latency_ms": rng.randint(300, 1500), "outcome": "ok",
             "detail": "", "created_at": row["created_at"]}
            for row in nlu if row["intent"] == "nlu_fallback"])

    rolled = rollup_range(ctx, tenant_id, first_day, last_day)
    return HistoryReport(tenant_id, True, customers, len(conv_rows),
                         len(inbound) + len(outbound) + len(human), len(order_rows), rolled,
                         round(time.monotonic() - started, 2))

