"""Who is calling: the shared service token, or a merchant's API key for one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from backend.wiring import Context
from backend.domain.permissions import ALL_SCOPES
from backend.domain.errors import InvalidInput, NotFound, Unauthenticated
from backend.models import ApiKey
from backend.security import (
    api_key_prefix,
    constant_time_equals,
    generate_api_key,
    hash_api_key,
)
from backend.services.platform.tenants import require_tenant

MIN_API_KEY_LENGTH = 16


def is_service_token(ctx: Context, token: str) -> bool:
    return constant_time_equals(token, ctx.settings.service_token)


def ensure_tenant_exists(ctx: Context, tenant_id: str) -> None:
    """For the trusted service: an unknown tenant id is a 404, not an auth failure."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)


@dataclass(frozen=True)
class MerchantKey:
    """A live key that authenticated: its id (the actor in audit trails) and what it may do."""

    id: int
    scopes: frozenset[str]


def merchant_key(ctx: Context, tenant_id: str, raw_key: str) -> MerchantKey:
    """Accept a live (not revoked) key of that tenant; else the same 401."""
    digest = hash_api_key(raw_key)
    with ctx.db.transaction() as session:
        candidates = session.execute(
            select(ApiKey.id, ApiKey.key_hash, ApiKey.scopes).where(
                ApiKey.tenant_id == tenant_id,
                ApiKey.prefix == api_key_prefix(raw_key),
                ApiKey.revoked_at.is_(None),
            )
        ).all()
    matches = [MerchantKey(int(key_id), frozenset(scopes or ()))
               for key_id, candidate, scopes in candidates
               if constant_time_equals(digest, candidate)]
    if not matches:
        raise Unauthenticated("Invalid tenant id or API key")
    return matches[0]


def authenticate_merchant(ctx: Context, tenant_id: str, raw_key: str) -> int:
    """The id of a live key of that tenant; else the same 401."""
    return merchant_key(ctx, tenant_id, raw_key).id


def issue_api_key(ctx: Context, tenant_id: str, raw_key: str | None = None,
                  scopes: frozenset[str] = ALL_SCOPES) -> str:
    """Store a new key (hashed; every scope unless told: the seed's and the tests' keys) and
    return it; re-issuing a known key changes nothing."""
    key = raw_key or generate_api_key()
    if len(key) < MIN_API_KEY_LENGTH:
        raise InvalidInput(f"API keys need at least {MIN_API_KEY_LENGTH} characters")
    digest = hash_api_key(key)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        existing = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        if existing is not None:
            if existing.tenant_id != tenant_id:
                raise InvalidInput("That API key is already in use")
            return key
        session.add(ApiKey(tenant_id=tenant_id, prefix=api_key_prefix(key), key_hash=digest,
                           scopes=sorted(scopes)))
    return key


def revoke_api_key(ctx: Context, tenant_id: str, raw_key: str) -> None:
    with ctx.db.transaction() as session:
        key = session.scalar(
            select(ApiKey).where(
                ApiKey.tenant_id == tenant_id, ApiKey.key_hash == hash_api_key(raw_key)
            )
        )
        if key is None:
            raise NotFound("No such API key for this tenant")
        key.revoked_at = datetime.now(UTC)
