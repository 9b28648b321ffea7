"""Product variants by id: SKU, price, stock, attributes."""

from backend.api.variants.routes import blp

__all__ = ["blp"]
