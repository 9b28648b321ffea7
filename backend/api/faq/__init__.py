"""Answering customers' questions from the knowledge base."""

from backend.api.faq.routes import blp

__all__ = ["blp"]
