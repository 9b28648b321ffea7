"""Business-initiated messages (send, schedule, cancel, list, usage), templates, and Twilio's
delivery status callbacks."""

from backend.api.outreach.routes import blp, status_blp, templates_blp

__all__ = ["blp", "status_blp", "templates_blp"]
