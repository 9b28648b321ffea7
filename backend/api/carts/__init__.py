"""Carts: the assistant's customer's current cart, and merchants' view of every cart."""

from backend.api.carts.routes import blp

__all__ = ["blp"]
