"""/v1/analytics: the tenant's figures per local day (overview, daily series, funnel, messaging,
intents)."""

from backend.api.analytics.routes import blp

__all__ = ["blp"]
