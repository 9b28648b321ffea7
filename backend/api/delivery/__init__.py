"""Delivery: /v1/delivery (settings, zones, quotes) and /internal/v1/delivery (the assistant's
order form: the options and the acting customer's quote)."""

from backend.api.delivery.routes import blp, internal_blp

__all__ = ["blp", "internal_blp"]
