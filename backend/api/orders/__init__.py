"""Orders: placing, listing and moving them along the status machine."""

from backend.api.orders.routes import blp

__all__ = ["blp"]
