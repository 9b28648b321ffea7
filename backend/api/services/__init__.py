"""Bookable services, their variants, availability windows and free slots."""

from backend.api.services.routes import blp, service_variants_blp, windows_blp

__all__ = ["blp", "service_variants_blp", "windows_blp"]
