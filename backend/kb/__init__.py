"""Retrieval for the knowledge base: settings, pluggable embedders, per-tenant hybrid indexes."""
