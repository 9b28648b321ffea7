"""PATCH /v1/conversations/<id> and GET /v1/conversations/<id>/messages."""

from backend.api.conversations.routes import blp

__all__ = ["blp"]
