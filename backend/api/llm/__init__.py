"""The LLM: intent classification for the assistant, the call log and usage for merchants."""

from backend.api.llm.routes import blp, internal_blp

__all__ = ["blp", "internal_blp"]
