"""GET/PATCH /v1/tenant: the caller's own tenant settings."""

from backend.api.tenant_settings.routes import blp

__all__ = ["blp"]
