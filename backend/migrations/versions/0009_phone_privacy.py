"""Phone numbers out of clear text: customers get an opaque reference (what Rasa and the actions
know them by), and rows stored before are rewritten with their phones masked.

- customers.ref: a random reference per customer, unique per tenant.
- payment_events.payload: MSISDN, PhoneNumber and phones in strings masked.
- idempotency_keys.key: a phone becomes its keyed hash (as the API now stores new keys) when
  HASH_KEY is set, else it is masked; a rewritten key that would collide keeps its row id.
- nlu_classifications.text/entities, inbound_messages.body, conversation_handoffs.last_message:
  phones masked.

Rasa's tracker store is not the backend's database: conversations Rasa stored under
"<tenant>:<E.164>" sender ids stay there until the tracker store is cleared (README).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from pii.masking import mask_payload, mask_phones

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def _new_ref() -> str:
    # Frozen copy of backend.models.customer.new_customer_ref: migrations do not import models.
    import secrets

    return "c" + secrets.token_hex(12)


def _rows(connection: sa.Connection, table: sa.Table, *columns: str) -> Iterator[Any]:
    """Every row's id and columns, in id order, a batch at a time."""
    last = 0
    while True:
        batch = connection.execute(
            sa.select(table.c.id, *(table.c[c] for c in columns))
            .where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _rewrite(connection: sa.Connection, name: str, column: str, kind: Any,
             change: Callable[[Any], Any]) -> None:
    table = sa.table(name, sa.column("id", sa.BigInteger), sa.column(column, kind))
    for row in list(_rows(connection, table, column)):
        value = row[1]
        if value is None:
            continue
        new = change(value)
        if new != value:
            connection.execute(sa.update(table).where(table.c.id == row.id).values({column: new}))


def _key_rewriter() -> Callable[[str, bool], str] | None:
    hash_key = os.environ.get("HASH_KEY")
    if not hash_key:
        return None
    secret = hash_key.encode()
    # Same as the API's stored_key: "ph-" and the first 16 hex digits of Crypto.keyed_hash.
    return lambda digits, plus: "ph-" + hmac.new(secret, digits.encode(),
                                                 hashlib.sha256).hexdigest()[:16]


def _rewrite_idempotency_keys(connection: sa.Connection) -> None:
    table = sa.table("idempotency_keys", sa.column("id", sa.BigInteger),
                     sa.column("tenant_id", sa.String), sa.column("key", sa.String))
    rows = list(_rows(connection, table, "tenant_id", "key"))
    taken = {(row.tenant_id, row.key) for row in rows}
    rewriter = _key_rewriter()
    for row in rows:
        new = mask_phones(row.key, rewriter)[:255]
        if new == row.key:
            continue
        if (row.tenant_id, new) in taken:
            new = f"{new[:230]}#{row.id}"
        taken.add((row.tenant_id, new))
        connection.execute(sa.update(table).where(table.c.id == row.id).values(key=new))


def upgrade() -> None:
    # Plain ALTERs, no batch copy: on SQLite a batch copy drops the table, and with foreign keys
    # on that deletes every row referencing a customer (ON DELETE CASCADE).
    op.add_column("customers", sa.Column("ref", sa.String(length=32), nullable=False,
                                         server_default=""))
    connection = op.get_bind()
    customers = sa.table("customers", sa.column("id", sa.BigInteger), sa.column("ref", sa.String))
    for row in list(_rows(connection, customers, "ref")):
        connection.execute(sa.update(customers).where(customers.c.id == row.id)
                           .values(ref=_new_ref()))
    if connection.dialect.name != "sqlite":  # SQLite cannot drop a default without a copy
        op.alter_column("customers", "ref", server_default=None)
    op.create_index(op.f("ix_customers_tenant_id_ref"), "customers", ["tenant_id", "ref"],
                    unique=True)

    _rewrite(connection, "payment_events", "payload", sa.JSON, mask_payload)
    _rewrite_idempotency_keys(connection)
    _rewrite(connection, "nlu_classifications", "text", sa.Text, mask_phones)
    _rewrite(connection, "nlu_classifications", "entities", sa.JSON, mask_payload)
    _rewrite(connection, "inbound_messages", "body", sa.Text, mask_phones)
    _rewrite(connection, "conversation_handoffs", "last_message", sa.Text, mask_phones)


def downgrade() -> None:
    """Drops the references; masked phones cannot be restored (they were never needed)."""
    op.drop_index(op.f("ix_customers_tenant_id_ref"), table_name="customers")
    op.drop_column("customers", "ref")  # plain ALTER (SQLite >= 3.35): no cascading copy
