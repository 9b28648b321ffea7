"""GET/PATCH /v1/tenant: the caller's own tenant settings."""

from backend.api.tenant.routes import blp

__all__ = ["blp"]
