"""The scope declarations live in backend/interface/scopes.py (shared with the web app); the API's
modules import them from here as before."""

from backend.interface.scopes import (
    OPERATOR,
    PUBLIC,
    SERVICE,
    SPECIAL,
    USER,
    required_scope,
    requires,
)

__all__ = ["OPERATOR", "PUBLIC", "SERVICE", "SPECIAL", "USER", "required_scope", "requires"]
