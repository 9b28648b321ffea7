"""GET /v1/health."""

from backend.api.health.routes import blp

__all__ = ["blp"]
