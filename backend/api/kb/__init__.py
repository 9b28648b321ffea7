"""The merchant's knowledge base: FAQ entries, documents, imports, index status."""

from backend.api.kb.routes import blp

__all__ = ["blp"]
