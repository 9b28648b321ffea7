"""Request authentication hooks: the service token (Bearer), X-TENANT-ID + X-TENANT-API-KEY,
or a staff user: a browser session cookie (with X-CSRF-Token on unsafe methods) or a personal
access token (Bearer wcpat_...), on the tenant X-TENANT-ID names or the session's current one."""

from __future__ import annotations

from flask import g, request

from backend.api.common import Principal, context
from backend.api.scopes import OPERATOR
from backend.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from backend.services.accounts.sessions import (
    SESSION_COOKIE,
    SignedIn,
    csrf_matches,
    is_personal_token,
    member_scopes,
    session_user,
    token_user,
)
from backend.services.platform.auth import ensure_tenant_exists, is_service_token, merchant_key

CREDENTIALS_HINT = (
    "Send Authorization: Bearer <service token> (with X-TENANT-ID for tenant routes), "
    "X-TENANT-ID with X-TENANT-API-KEY, a session cookie (POST /v1/auth/login) or "
    "Authorization: Bearer <personal access token>"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def _look_up_staff() -> SignedIn | None:
    token = _bearer_token()
    if token is not None and is_personal_token(token):
        return token_user(context(), token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if token is not None or not cookie or request.headers.get("X-TENANT-API-KEY"):
        return None
    return session_user(context(), cookie)


def staff_credential() -> SignedIn | None:
    """The staff user behind the request's personal access token or session cookie (CSRF not
    checked), None when it carries neither; 401 for a dead one. Looked up once per request: the
    rate limiter asks before the authentication hooks do."""
    found: tuple[SignedIn | None, Unauthenticated | None] | None = g.get("_staff_credential")
    if found is None:
        try:
            found = (_look_up_staff(), None)
        except Unauthenticated as error:
            found = (None, error)
        g._staff_credential = found
    user, error = found
    if error is not None:
        raise error
    return user


def signed_in_user() -> SignedIn | None:
    """The staff user behind a personal access token or a session cookie (CSRF checked on
    unsafe methods); None when the request carries neither."""
    user = staff_credential()
    if user is None:
        return None
    if user.session_id is not None and request.method not in SAFE_METHODS and not csrf_matches(
            user, request.headers.get(CSRF_HEADER, "")):
        raise Forbidden(f"Missing or wrong {CSRF_HEADER} header (the csrf_token of the login)")
    return user


def user_principal(user: SignedIn, tenant: str | None) -> Principal:
    """A user on a tenant they belong to (404 for any other), with their effective scopes."""
    if user.session_id is None and tenant is not None and tenant != user.tenant_id:
        raise NotFound(f"No tenant {tenant}")  # a personal access token is for its tenant
    chosen = tenant or user.tenant_id
    if chosen is None:
        raise InvalidInput("No tenant chosen: send X-TENANT-ID or POST /v1/auth/switch")
    scopes = member_scopes(context(), chosen, user.user_id)
    if scopes is None:
        raise NotFound(f"No tenant {chosen}")
    if user.token_scopes is not None:
        scopes = scopes & user.token_scopes
    return Principal(is_service=False, tenant_id=chosen, user_id=user.user_id, scopes=scopes,
                     is_operator=user.is_operator)


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate(tenant_required: bool) -> Principal:
    ctx = context()
    tenant = request.headers.get("X-TENANT-ID", "").strip() or None
    user = signed_in_user()
    if user is not None:
        return user_principal(user, tenant)
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


def require_user() -> None:
    """before_request hook of a user's own routes (their tokens, their session): a session or a
    personal access token; the principal's tenant is the session's or token's (may be None)."""
    user = signed_in_user()
    if user is None:
        raise Unauthenticated("Log in first (POST /v1/auth/login) or send a personal access token")
    g.signed_in = user
    g.principal = Principal(is_service=False, tenant_id=user.tenant_id, user_id=user.user_id,
                            is_operator=user.is_operator, scopes=frozenset())


def require_operator() -> None:
    """before_request hook of platform-operator blueprints: the service token, or a staff user
    (session or personal access token) who is a platform operator (403 for other users)."""
    token = _bearer_token()
    if token is not None and not is_personal_token(token):
        require_service()
        return
    user = signed_in_user()
    if user is None:
        _authenticate(tenant_required=False)  # a merchant's key: 401 if wrong, else 403
    if user is None or not user.is_operator:
        raise Forbidden("Only platform operators may do this", {"required_scope": [OPERATOR]})
    g.signed_in = user
    g.principal = Principal(is_service=False, tenant_id=None, user_id=user.user_id,
                            is_operator=True, scopes=frozenset())

