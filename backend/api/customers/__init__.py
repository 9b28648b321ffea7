"""/v1/customers: listing, profiles, preferences and consent history, conversations."""

from backend.api.customers.routes import blp

__all__ = ["blp"]
