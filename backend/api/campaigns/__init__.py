"""Campaigns: a promotional template (or A/B variants) to a segment of customers; customers' tags."""

from backend.api.campaigns.routes import blp, tags_blp

__all__ = ["blp", "tags_blp"]
