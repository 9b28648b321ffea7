"""GET /v1/products and /v1/products/<id>."""

from backend.api.products.routes import blp

__all__ = ["blp"]
