"""Request authentication hooks: the service token (Bearer), or X-TENANT-ID + X-TENANT-API-KEY."""

from __future__ import annotations

from flask import g, request

from backend.api.common import Principal, context
from backend.domain.errors import Unauthenticated
from backend.services.platform.auth import ensure_tenant_exists, is_service_token, merchant_key

CREDENTIALS_HINT = (
    "Send Authorization: Bearer <service token> (with X-TENANT-ID for tenant routes), "
    "or X-TENANT-ID with X-TENANT-API-KEY"
)


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate(tenant_required: bool) -> Principal:
    ctx = context()
    tenant = request.headers.get("X-TENANT-ID", "").strip() or None
    token = _bearer_token()
    if token is not None:
        if not is_service_token(ctx, token):
            raise Unauthenticated("Invalid service token")
        if tenant is None:
            if tenant_required:
                raise Unauthenticated("X-TENANT-ID header is required with the service token")
            return Principal(is_service=True, tenant_id=None)
        ensure_tenant_exists(ctx, tenant)
        return Principal(is_service=True, tenant_id=tenant)
    api_key = request.headers.get("X-TENANT-API-KEY", "")
    if tenant is None or not api_key:
        raise Unauthenticated(f"Missing credentials. {CREDENTIALS_HINT}")
    key = merchant_key(ctx, tenant, api_key)
    return Principal(is_service=False, tenant_id=tenant, api_key_id=key.id, scopes=key.scopes)


def require_service() -> None:
    """before_request hook of internal blueprints: the service token only."""
    token = _bearer_token()
    if token is None or not is_service_token(context(), token):
        raise Unauthenticated("A valid service token is required (Authorization: Bearer <token>)")
    g.principal = Principal(is_service=True, tenant_id=None)


def require_tenant() -> None:
    """before_request hook of tenant blueprints: service token + X-TENANT-ID, or a merchant key."""
    g.principal = _authenticate(tenant_required=True)


def require_service_or_tenant() -> None:
    """Like require_tenant, but the service may omit X-TENANT-ID to act for every tenant."""
    g.principal = _authenticate(tenant_required=False)
