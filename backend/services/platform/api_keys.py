"""A tenant's API keys: several live at once, shown in full only when created, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from backend.wiring import Context
from backend.domain.errors import Conflict
from backend.models import ApiKey
from backend.security import api_key_prefix, generate_api_key, hash_api_key
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str | None
    prefix: str  # first characters, to tell keys apart; the key itself is never stored
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKeyView
    raw_key: str  # returned once, at creation


def _view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(key.id, key.name, key.prefix, key.created_at, key.revoked_at)


def list_api_keys(ctx: Context, tenant_id: str) -> list[ApiKeyView]:
    """Every key of the tenant, revoked ones included, oldest first."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        keys = session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)
        ).all()
        return [_view(key) for key in keys]


def create_api_key(ctx: Context, tenant_id: str, name: str | None = None) -> NewApiKey:
    """A new random key; a name must not be shared with another live key of the tenant."""
    raw = generate_api_key()
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        if name is not None and session.scalar(
            select(ApiKey.id).where(
                ApiKey.tenant_id == tenant_id, ApiKey.name == name, ApiKey.revoked_at.is_(None)
            )
        ):
            raise Conflict(f"A live API key is already named {name!r}")
        key = ApiKey(
            tenant_id=tenant_id, name=name, prefix=api_key_prefix(raw), key_hash=hash_api_key(raw)
        )
        session.add(key)
        session.flush()
        return NewApiKey(_view(key), raw)


def revoke_api_key_by_id(ctx: Context, tenant_id: str, api_key_id: int) -> ApiKeyView:
    """Revoke a key of this tenant (revoking twice keeps the first time); others' are 404."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        key = tenant_row(session, ApiKey, api_key_id, tenant_id, "API key")
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)
        session.flush()
        return _view(key)
