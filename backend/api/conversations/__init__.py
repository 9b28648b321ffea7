"""/v1/conversations (list, PATCH, messages, resume, replies) and the service's handoff route."""

from backend.api.conversations.routes import blp, handoff_blp

__all__ = ["blp", "handoff_blp"]
