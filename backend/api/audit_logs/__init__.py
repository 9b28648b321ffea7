"""GET /v1/audit-logs, and the hooks that bind each request's actor and record its writes."""

from backend.api.audit_logs.routes import blp

__all__ = ["blp"]
