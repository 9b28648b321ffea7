"""Helpers every blueprint shares: the app's Context, the caller, and OpenAPI security names."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from marshmallow import Schema, fields

from backend.api.fields import BoundedInt
from backend.wiring import Context

SERVICE_SECURITY: list[dict[str, list[str]]] = [{"ServiceToken": []}]
# A staff user: a session cookie (+ X-CSRF-Token on unsafe methods) or a personal access token.
USER_SECURITY: list[dict[str, list[str]]] = [
    {"SessionCookie": [], "CsrfToken": []},
    {"PersonalAccessToken": []},
]
TENANT_SECURITY: list[dict[str, list[str]]] = [
    {"ServiceToken": [], "TenantId": []},
    {"TenantId": [], "TenantApiKey": []},
    *USER_SECURITY,
]
SECURITY_SCHEMES = {
    "ServiceToken": {"type": "http", "scheme": "bearer", "description": "SERVICE_TOKEN"},
    "TenantId": {"type": "apiKey", "in": "header", "name": "X-TENANT-ID"},
    "TenantApiKey": {"type": "apiKey", "in": "header", "name": "X-TENANT-API-KEY"},
    "TwilioBasic": {"type": "http", "scheme": "basic", "description": "AccountSid:AuthToken"},
    "SessionCookie": {"type": "apiKey", "in": "cookie", "name": "wca_session",
                      "description": "Set by POST /v1/auth/login; X-TENANT-ID optional"},
    "CsrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                  "description": "The login's csrf_token, on POST, PUT, PATCH and DELETE"},
    "PersonalAccessToken": {"type": "http", "scheme": "bearer",
                            "description": "wcpat_... (POST /v1/tokens); for its tenant only"},
}


class ErrorSchema(Schema):
    """The one error shape of every route (the Twilio simulator excepted, which speaks Twilio's)."""

    code = BoundedInt(metadata={"description": "HTTP status"})
    message = fields.Str(metadata={"description": "Reason phrase"})
    description = fields.Str(metadata={"description": "What went wrong"})
    errors = fields.Dict(
        keys=fields.Str(), metadata={"description": "Validation messages per field"}
    )


@dataclass(frozen=True)
class Principal:
    """Who is calling: the service (for one tenant or, where allowed, all), a merchant's API key,
    or a staff user (browser session or personal access token)."""

    is_service: bool
    tenant_id: str | None
    api_key_id: int | None = None  # the merchant's key, for audit trails
    user_id: int | None = None  # the staff user behind a session or personal access token
    # What the caller may do on tenant_id (backend.domain.permissions); None: not scope-limited
    # (the service token).
    scopes: frozenset[str] | None = None
    is_operator: bool = False  # a platform operator (a platform role, not a tenant role)

    def may(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


def context() -> Context:
    ctx: Context = current_app.extensions["backend"]
    return ctx


def principal() -> Principal:
    caller: Principal = g.principal
    return caller


def tenant_id() -> str:
    """The tenant of a request authenticated with a tenant-scoped hook."""
    tenant = principal().tenant_id
    if tenant is None:
        raise RuntimeError("tenant_id() used on a route without tenant authentication")
    return tenant
