"""/v1/platform/...: the platform operator's endpoints (tenants, Twilio tests, fee waivers,
revenue)."""

from backend.api.platform.routes import blp

__all__ = ["blp"]
