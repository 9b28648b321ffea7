"""The route × role walk: every /v1 route of the URL map, called with each built-in role's
credentials, answers 403 exactly when the role lacks the route's declared scope; a route that
declares none fails the walk. Plus the static check that every /v1 and /internal route (and
every other route a blueprint serves) declares a scope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from backend.api.common import Principal
from backend.api.scope_check import declared_scope, permits
from backend.api.scopes import PUBLIC, SERVICE, SPECIAL, USER
from backend.domain.permissions import ALL_SCOPES, BUILT_IN_ROLES
from backend.seed.accounts import seed_staff, staff_email
from backend.services.accounts.sessions import create_token
from backend.services.accounts.users import find_user
from backend.services.platform.auth import issue_api_key
from backend.wiring import Context
from tests.backend.conftest import TENANT_ID, merchant_headers

IGNORED = {"HEAD", "OPTIONS"}
UNSCOPED_ENDPOINTS = {"static", "metrics", "swagger_ui_asset", "api-docs.openapi_json",
                      "api-docs.openapi_swagger_ui"}  # served outside any blueprint's routes


@dataclass(frozen=True)
class Credentials:
    """One caller of the walk: its headers and the scopes it holds (an API key made with a
    role's scopes, or a staff user of that role through a personal access token)."""

    name: str
    headers: dict[str, str]
    scopes: frozenset[str]
    api_key_id: int | None = None
    user_id: int | None = None


def routes(app: Flask, prefixes: tuple[str, ...]) -> list[tuple[Rule, str]]:
    return sorted(((rule, method) for rule in app.url_map.iter_rules()
                   if rule.rule.startswith(prefixes)
                   for method in sorted((rule.methods or set()) - IGNORED)),
                  key=lambda pair: (pair[0].rule, pair[1]))


def sample_path(rule: Rule) -> str:
    """The rule with every variable filled in (ids 1, strings "x")."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: "1" if m.group(1) == "int" else "x", rule.rule)


def role_keys(ctx: Context) -> list[Credentials]:
    found = []
    for role, scopes in BUILT_IN_ROLES.items():
        key = f"walk-{role}-key-0000000000"
        issue_api_key(ctx, TENANT_ID, key, scopes=scopes)
        found.append(Credentials(f"api_key:{role}", merchant_headers(api_key=key), scopes,
                                 api_key_id=1))
    return found


def role_users(ctx: Context) -> list[Credentials]:
    """The seeded staff of TENANT_ID, one user per built-in role, each with a token."""
    seed_staff(ctx, [TENANT_ID])
    found = []
    for role, scopes in BUILT_IN_ROLES.items():
        with ctx.db.transaction() as session:
            user = find_user(session, staff_email(TENANT_ID, role))
            assert user is not None
            user_id = user.id
        token = create_token(ctx, user_id, TENANT_ID, "walk").raw_token
        found.append(Credentials(f"user:{role}", {"Authorization": f"Bearer {token}",
                                                  "X-TENANT-ID": TENANT_ID}, scopes,
                                 user_id=user_id))
    return found


def test_every_blueprint_route_declares_a_scope(app: Flask) -> None:
    undeclared, wrong = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNSCOPED_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - IGNORED):
            scope = declared_scope(app, rule.endpoint, method)
            if scope is None:
                undeclared.append(f"{method} {rule.rule}")
            elif scope not in ALL_SCOPES | SPECIAL:
                wrong.append(f"{method} {rule.rule}: {scope}")
            elif rule.rule.startswith("/internal/") and scope != SERVICE:
                wrong.append(f"{method} {rule.rule}: internal routes are the service's")
    assert not undeclared, f"Routes without @requires: {undeclared}"
    assert not wrong, wrong
    assert len(routes(app, ("/v1/",))) > 100  # the walk below sees the whole API


def _errors(response: Any) -> dict[str, Any]:
    body = response.get_json(silent=True)
    return body.get("errors") or {} if isinstance(body, dict) else {}


def test_every_v1_route_with_every_role(app: Flask, client: Any, tenants: Context) -> None:
    callers = role_keys(tenants) + role_users(tenants)
    # The walk checks scopes, not rates: 12 callers on every route exceed a key's tier rate.
    app.extensions["rate_limiter"].enabled = False
    mismatches: list[str] = []
    walked = 0
    for rule, method in routes(app, ("/v1/",)):
        scope = declared_scope(app, rule.endpoint, method)
        assert scope is not None, f"{method} {rule.rule} declares no scope"
        path = sample_path(rule)
        for caller in callers:
            response = client.open(path, method=method, headers=caller.headers,
                                   json=None if method == "GET" else {})
            walked += 1
            refused = (response.status_code == 403 and "required_scope" in _errors(response)
                       # a user's own routes: anyone else is not signed in (their hook, 401)
                       or (scope == USER and response.status_code == 401))
            should_refuse = not permits(
                Principal(is_service=False, tenant_id=TENANT_ID, api_key_id=caller.api_key_id,
                          user_id=caller.user_id, scopes=caller.scopes), scope)
            if refused != should_refuse:
                mismatches.append(f"{caller.name} {method} {rule.rule} (needs {scope}): "
                                  f"{response.status_code}")
            elif refused and response.status_code == 403:
                assert _errors(response)["required_scope"] == [scope]
                assert scope in response.get_json()["description"] or scope in SPECIAL
    assert not mismatches, "\n".join(mismatches)
    assert walked >= 100 * 2 * len(BUILT_IN_ROLES)


def test_public_routes_need_no_credentials(app: Flask, client: Any) -> None:
    for rule, method in routes(app, ("/v1/",)):
        if declared_scope(app, rule.endpoint, method) == PUBLIC:
            response = client.open(sample_path(rule), method=method)
            assert response.status_code not in (401, 403), rule.rule
