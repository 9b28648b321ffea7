"""What each route needs: `@requires(scope)` on a view method declares it.

Every /v1 route declares exactly one of: a tenant scope (backend.domain.permissions.SCOPES), PUBLIC
(no credentials: logging in, accepting an invitation, resetting a password), USER (any signed-in
staff user, on their own session and tokens), SERVICE (the service token only) or OPERATOR (a
platform operator). The enforcement hook and the test that walks
the URL map with every role read these declarations (`required_scope`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

from backend.domain.permissions import ALL_SCOPES

PUBLIC = "public"
USER = "user"
SERVICE = "service"
OPERATOR = "platform:operator"
SPECIAL = frozenset({PUBLIC, USER, SERVICE, OPERATOR})
_ATTRIBUTE = "required_scope"

View = TypeVar("View", bound=Callable[..., Any])


def requires(scope: str) -> Callable[[View], View]:
    """Declare the scope a view method needs (checked at import: a typo fails at start-up)."""
    if scope not in ALL_SCOPES and scope not in SPECIAL:
        raise ValueError(f"Unknown scope {scope!r}")

    def declare(view: View) -> View:
        setattr(view, _ATTRIBUTE, scope)
        return view

    return declare


def required_scope(app: Flask, endpoint: str, method: str) -> str | None:
    """The scope declared for `method` on `endpoint` (None: undeclared)."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class is not None else view
    return getattr(handler, _ATTRIBUTE, None)
