"""The platform: tenants and their usage, API keys and callers, customers, health, and helpers every capability shares."""
