"""The settings:read scope: reading the tenant's settings (GET /v1/tenant) needed analytics:read
until now. Built-in roles live in the code (backend/domain/permissions.py), but scopes are also
stored: on API keys, on personal access tokens made narrower, on tenants' custom roles and in
per-user overrides. Wherever analytics:read is stored, settings:read is added beside it (an
override with the same effect), so whoever could read the settings before still can and whoever
was denied still is.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD, NEW = "analytics:read", "settings:read"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SCOPED_TABLES = ("api_keys", "personal_access_tokens", "tenant_roles")


def _table(name: str) -> sa.Table:
    return sa.table(name, sa.column("id", ID), sa.column("scopes", sa.JSON()))


def _rewrite(change: Any) -> None:
    """Apply `change(scopes) -> scopes | None` to every stored list of scopes (None: keep)."""
    bind = op.get_bind()
    for name in SCOPED_TABLES:
        table = _table(name)
        for row_id, scopes in bind.execute(sa.select(table.c.id, table.c.scopes)).all():
            if scopes is None:  # a token with its user's scopes: follows the roles
                continue
            changed = change(list(scopes))
            if changed is not None:
                bind.execute(table.update().where(table.c.id == row_id).values(scopes=changed))


def _overrides() -> sa.Table:
    return sa.table("scope_overrides", sa.column("tenant_id", sa.String(64)),
                    sa.column("user_id", ID), sa.column("scope", sa.String(64)),
                    sa.column("effect", sa.String(8)))


def upgrade() -> None:
    _rewrite(lambda scopes: sorted({*scopes, NEW}) if OLD in scopes and NEW not in scopes
             else None)
    bind = op.get_bind()
    overrides = _overrides()
    taken = {(tenant, user) for tenant, user in bind.execute(
        sa.select(overrides.c.tenant_id, overrides.c.user_id).where(overrides.c.scope == NEW))}
    rows = bind.execute(sa.select(overrides.c.tenant_id, overrides.c.user_id, overrides.c.effect)
                        .where(overrides.c.scope == OLD)).all()
    for tenant, user, effect in rows:
        if (tenant, user) not in taken:
            bind.execute(overrides.insert().values(tenant_id=tenant, user_id=user, scope=NEW,
                                                   effect=effect))


def downgrade() -> None:
    _rewrite(lambda scopes: [scope for scope in scopes if scope != NEW] if NEW in scopes
             else None)
    overrides = _overrides()
    op.execute(overrides.delete().where(overrides.c.scope == NEW))
