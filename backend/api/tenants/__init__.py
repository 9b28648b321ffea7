"""GET /internal/v1/tenants/resolve."""

from backend.api.tenants.routes import blp

__all__ = ["blp"]
