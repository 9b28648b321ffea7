"""Exporting a tenant's customers (their personal data: phones decrypted) as CSV rows.

The customers are read in chunks of CHUNK by id (keyset paging, each chunk's orders, tags and
last messages fetched for its ids only), in one transaction, so a large tenant never loads every
customer at once and the export is one consistent picture. The export itself is recorded in the
audit log ("customers.export", the row count, no personal data).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.domain.campaigns import PLACED_STATUSES, SPENT_STATUSES
from backend.models import Conversation, Customer, CustomerTag, Order
from backend.services.platform.audit import record_audit
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

CHUNK = 500
COLUMNS = ("id", "phone", "name", "language", "tags", "consent_transactional",
           "consent_reminders", "consent_promotional", "first_seen", "last_seen",
           "orders_count", "total_spent_minor", "currency")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): free text a
# customer or merchant typed is prefixed with "'" when it starts with one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportRow:
    id: int
    phone: str  # E.164, decrypted
    name: str | None
    language: str | None
    tags: list[str]
    consent_transactional: bool
    consent_reminders: bool
    consent_promotional: bool
    first_seen: datetime  # when the customer was first known
    last_seen: datetime | None  # their latest message to the tenant
    orders_count: int  # orders placed (not drafts or cancelled ones)
    total_spent_minor: int  # paid, fulfilled and delivered orders, in the tenant's currency
    currency: str


def _chunks(session: Session, tenant_id: str, size: int) -> Iterator[list[Customer]]:
    after = 0
    while True:
        rows = list(session.scalars(select(Customer).where(
            Customer.tenant_id == tenant_id, Customer.id > after)
            .order_by(Customer.id).limit(size)))
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _rows(ctx: Context, session: Session, tenant_id: str, currency: str,
          customers: list[Customer]) -> list[ExportRow]:
    ids = [customer.id for customer in customers]
    tags: dict[int, list[str]] = defaultdict(list)
    for customer_id, tag in session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag).where(
                CustomerTag.tenant_id == tenant_id, CustomerTag.customer_id.in_(ids))
            .order_by(CustomerTag.customer_id, CustomerTag.tag)):
        tags[customer_id].append(tag)
    placed: dict[int, int] = dict(session.execute(
        select(Order.customer_id, func.count(Order.id)).where(
            Order.tenant_id == tenant_id, Order.customer_id.in_(ids),
            Order.status.in_(PLACED_STATUSES)).group_by(Order.customer_id)).all())
    spent: dict[int, int] = dict(session.execute(
        select(Order.customer_id, func.coalesce(func.sum(Order.total_minor), 0)).where(
            Order.tenant_id == tenant_id, Order.customer_id.in_(ids),
            Order.status.in_(SPENT_STATUSES)).group_by(Order.customer_id)).all())
    seen: dict[int, datetime | None] = dict(session.execute(
        select(Conversation.customer_id, func.max(Conversation.last_inbound_at)).where(
            Conversation.tenant_id == tenant_id, Conversation.customer_id.in_(ids))
        .group_by(Conversation.customer_id)).all())
    return [ExportRow(
        id=customer.id, phone=ctx.crypto.decrypt(customer.phone_encrypted),
        name=customer.profile_name, language=customer.language, tags=tags.get(customer.id, []),
        consent_transactional=customer.consent_transactional,
        consent_reminders=customer.consent_reminders,
        consent_promotional=customer.consent_promotional,
        first_seen=customer.created_at, last_seen=seen.get(customer.id),
        orders_count=int(placed.get(customer.id, 0)),
        total_spent_minor=int(spent.get(customer.id, 0)), currency=currency)
        for customer in customers]


def export_customers(ctx: Context, tenant_id: str, chunk: int = CHUNK) -> list[ExportRow]:
    """Every customer of the tenant by id, and one audit record of the export (its size)."""
    with ctx.db.transaction() as session:
        currency = require_tenant(session, tenant_id).currency
        rows: list[ExportRow] = []
        for customers in _chunks(session, tenant_id, chunk):
            rows.extend(_rows(ctx, session, tenant_id, currency, customers))
        record_audit(session, tenant_id, None, "customers.export", ("customers", None),
                     after={"rows": len(rows), "columns": list(COLUMNS)})
        return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _text(value: str | None) -> str:
    text = value or ""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def customers_csv(rows: list[ExportRow]) -> str:
    """The rows as CSV: a header line, then one line per customer; tags joined with ';'."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([
            row.id, row.phone, _text(row.name), _cell(row.language),
            _text(";".join(row.tags)), _cell(row.consent_transactional),
            _cell(row.consent_reminders), _cell(row.consent_promotional),
            _cell(row.first_seen), _cell(row.last_seen), row.orders_count,
            row.total_spent_minor, row.currency])
    return out.getvalue()
