"""Sandbox only (SANDBOX=1): the Twilio simulator and the log of what it received."""

from backend.api.sandbox.routes import messages_blp, twilio_blp

__all__ = ["messages_blp", "twilio_blp"]
