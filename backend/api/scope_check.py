"""Authorisation: the scope a route declares (`@requires`) is checked once its blueprint has
authenticated the caller; a caller without it gets 403 naming the missing scope.

Flask runs the app's before_request hooks before any blueprint's, and authentication is a
blueprint hook (backend/api/auth.py), so `check_scope` goes into every registered blueprint's
hooks right after its authentication hook (before anything else the blueprint does; at the end
for a blueprint that authenticates on its own or not at all).

`deny_undeclared` runs first, as an app hook: a /v1 or /internal route that declares nothing is
refused (403) rather than left open, and so is a /v1 or /internal route registered outside a
blueprint (nothing would authenticate it). The test that walks the URL map
(tests/backend/test_rbac_walk.py) fails long before that can ship.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request

from backend.api.auth import (
    require_operator,
    require_service,
    require_service_or_tenant,
    require_tenant,
    require_user,
)
from backend.api.common import Principal
from backend.api.scopes import OPERATOR, PUBLIC, SERVICE, USER, required_scope
from backend.domain.errors import Forbidden, Unauthenticated

GUARDED_PREFIXES = ("/v1/", "/internal/")
AUTHENTICATION_HOOKS = (require_service, require_tenant, require_service_or_tenant,
                        require_operator, require_user)


def declared_scope(app: Flask, endpoint: str, method: str) -> str | None:
    """The route's scope for `method` (HEAD is served by GET)."""
    return required_scope(app, endpoint, "GET" if method == "HEAD" else method)


def permits(caller: Principal, scope: str) -> bool:
    """May `caller` use a route declaring `scope`? (The service token is not scope-limited.)"""
    if scope == PUBLIC:
        return True
    if scope == USER:
        return caller.user_id is not None
    if scope == SERVICE:
        return caller.is_service
    if scope == OPERATOR:
        return caller.is_service or caller.is_operator
    return caller.may(scope)


def _route() -> str:
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return f"{request.method} {rule}"


def deny_undeclared() -> None:
    """App hook (before authentication): undeclared /v1 and /internal routes are refused."""
    if request.endpoint is None or request.method == "OPTIONS":
        return  # 404/405 answer on their own; preflights carry no credentials
    if not request.path.startswith(GUARDED_PREFIXES):
        return
    if request.blueprint is None or declared_scope(
            current_app, request.endpoint, request.method) is None:
        raise Forbidden(f"{_route()} declares no scope, so nobody may call it")


def check_scope() -> None:
    """Blueprint hook (after authentication): the caller holds the route's declared scope."""
    if request.endpoint is None or request.method == "OPTIONS":
        return
    scope = declared_scope(current_app, request.endpoint, request.method)
    if scope is None or scope == PUBLIC:
        return  # undeclared outside /v1 and /internal: the docs blueprint
    caller: Principal | None = g.get("principal")
    if caller is None and scope == USER:
        require_user()  # a user's own route in a blueprint that also serves logging in
        caller = g.get("principal")
    if caller is None:
        raise Unauthenticated(f"{_route()} needs credentials")
    if not permits(caller, scope):
        needed = {SERVICE: "the service token", OPERATOR: "a platform operator",
                  USER: "a signed-in staff user"}.get(
            scope, f"the scope {scope}")
        raise Forbidden(f"{_route()} needs {needed}, which this caller does not have",
                        {"required_scope": [scope]})


def register_scope_check(app: Flask) -> None:
    """After every blueprint is registered: the app hook, and the check after each blueprint's
    own hooks (authentication)."""
    app.before_request(deny_undeclared)
    for name in app.blueprints:
        hooks = app.before_request_funcs.setdefault(name, [])
        authenticating = [i for i, hook in enumerate(hooks) if hook in AUTHENTICATION_HOOKS]
        hooks.insert(authenticating[-1] + 1 if authenticating else len(hooks), check_scope)
