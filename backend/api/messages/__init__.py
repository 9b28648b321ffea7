"""POST /internal/v1/messages/inbound and /outbound."""

from backend.api.messages.routes import blp

__all__ = ["blp"]
