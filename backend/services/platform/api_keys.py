"""A tenant's API keys: several live at once, shown in full only when created, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from backend.wiring import Context
from backend.domain.errors import Conflict, Forbidden, Unprocessable
from backend.domain.permissions import ALL_SCOPES, BUILT_IN_ROLES, unknown_scopes
from backend.models import ApiKey
from backend.security import api_key_prefix, generate_api_key, hash_api_key
from backend.services.platform.audit import record_audit
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str | None
    prefix: str  # first characters, to tell keys apart; the key itself is never stored
    created_at: datetime
    revoked_at: datetime | None
    scopes: list[str]  # what the key may do, sorted

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKeyView
    raw_key: str  # returned once, at creation


def _view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(key.id, key.name, key.prefix, key.created_at, key.revoked_at,
                      sorted(key.scopes))


def key_scopes(scopes: list[str] | None, role: str | None,
               granter: frozenset[str] | None) -> frozenset[str]:
    """A new key's scopes: the listed ones or a built-in role's (not both), else the granter's
    own; never more than the granter holds (None: the service token, every scope)."""
    if scopes is not None and role is not None:
        raise Unprocessable("Give scopes or role, not both",
                            {"role": ["Leave it out when scopes are listed."]})
    if scopes is not None:
        unknown = unknown_scopes(scopes)
        if unknown:
            raise Unprocessable(f"Unknown scopes: {', '.join(unknown)}",
                                {"scopes": [f"Unknown: {', '.join(unknown)}."]})
        wanted = frozenset(scopes)
    elif role is not None:
        if role not in BUILT_IN_ROLES:
            raise Unprocessable(f"Unknown role {role!r}",
                                {"role": [f"One of: {', '.join(BUILT_IN_ROLES)}."]})
        wanted = BUILT_IN_ROLES[role]
    else:
        wanted = ALL_SCOPES if granter is None else granter
    beyond = sorted(wanted - (ALL_SCOPES if granter is None else granter))
    if beyond:
        raise Forbidden(f"A key cannot hold scopes its creator lacks: {', '.join(beyond)}",
                        {"scopes": [f"Not yours to grant: {', '.join(beyond)}."]})
    return wanted


def list_api_keys(ctx: Context, tenant_id: str) -> list[ApiKeyView]:
    """Every key of the tenant, revoked ones included, oldest first."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        keys = session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)
        ).all()
        return [_view(key) for key in keys]


def create_api_key(ctx: Context, tenant_id: str, name: str | None = None,
                   scopes: frozenset[str] = ALL_SCOPES) -> NewApiKey:
    """A new random key holding `scopes` (see key_scopes); a name must not be shared with
    another live key of the tenant."""
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
            tenant_id=tenant_id, name=name, prefix=api_key_prefix(raw), key_hash=hash_api_key(raw),
            scopes=sorted(scopes),
        )
        session.add(key)
        session.flush()
        record_audit(session, tenant_id, None, "api_key.create", ("api_key", key.id),
                     after=_view(key))
        return NewApiKey(_view(key), raw)


def revoke_api_key_by_id(ctx: Context, tenant_id: str, api_key_id: int) -> ApiKeyView:
    """Revoke a key of this tenant (revoking twice keeps the first time); others' are 404."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        key = tenant_row(session, ApiKey, api_key_id, tenant_id, "API key")
        if key.revoked_at is None:
            before = _view(key)
            key.revoked_at = datetime.now(UTC)
            record_audit(session, tenant_id, None, "api_key.revoke", ("api_key", key.id),
                         before, _view(key))
        session.flush()
        return _view(key)
