"""GET /internal/v1/tenants/resolve; GET/PATCH /internal/v1/tenants/<tenant_id> (operator)."""

from backend.api.tenants.routes import blp

__all__ = ["blp"]
