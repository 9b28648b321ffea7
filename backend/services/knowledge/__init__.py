"""The knowledge capability: a tenant's knowledge base, FAQ answers and the LLM fallback."""
