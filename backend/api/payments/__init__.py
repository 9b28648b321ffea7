"""Payments of orders and the tenant's payment settings."""

from backend.api.payments.routes import blp

__all__ = ["blp"]
