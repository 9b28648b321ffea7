"""Every write is audited: the request's actor is bound for the services' own records
(backend/services/platform/audit.py), and a successful write request that no service recorded
gets a generic record (actor, route, target, status) once it answered.

Binding is a blueprint hook after authentication (like the scope check: Flask runs app hooks
first). Writes are POST, PUT, PATCH and DELETE on /v1 routes for a tenant whose declared scope is
not a read (a search or a preview sent as POST changes nothing) nor the service's own (the
assistant filling a customer's cart or changing their preferences is the customer's doing, kept
in those records' own trails, not staff activity; whatever the services record, like an order
the assistant places, is still recorded, as the service). An operator's write (scope OPERATOR)
that no service recorded gets a platform record (no tenant: GET /v1/platform/audit-logs).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g, request

from backend.api.common import Principal, context
from backend.api.scope_check import declared_scope
from backend.api.scopes import OPERATOR, PUBLIC, SERVICE
from backend.services.platform.audit import (
    SYSTEM,
    RequestAudit,
    actor_name,
    bind_request,
    record_request,
    unbind_request,
)

log = logging.getLogger(__name__)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bind_actor() -> None:
    """Blueprint hook: who acts in this request, for the services' audit records. A request
    without credentials (accepting an invitation, a webhook) is bound too, as "system", so that
    what a service records for it (naming its own actor where it knows one) keeps the request id
    and IP."""
    caller: Principal | None = g.get("principal")
    if "audit_token" in g:
        return
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    g.audit_token = bind_request(RequestAudit(
        actor=SYSTEM if caller is None
        else actor_name(caller.is_service, caller.user_id, caller.api_key_id),
        request_id=g.get("request_id"), ip=request.remote_addr,
        route=f"{request.method} {rule}"))


def _audited_scope() -> str | None:
    """The declared scope of an audited write, else None."""
    if request.method not in WRITES or not request.path.startswith("/v1/"):
        return None
    scope = declared_scope(current_app, request.endpoint or "", request.method)
    if scope is None or scope in (PUBLIC, SERVICE) or scope.endswith(":read"):
        return None
    return scope


def _target(response: Response) -> tuple[str, Any]:
    """The record a request is about: its path's last <…_id>, else the created row's id."""
    ids = [(name, value) for name, value in (request.view_args or {}).items()
           if name.endswith("_id")]
    if ids:
        name, value = ids[-1]
        return name.removesuffix("_id"), value
    kind = (request.blueprint or "").removesuffix("s")
    body = response.get_json(silent=True) if response.is_json else None
    return kind, body.get("id") if isinstance(body, dict) else None


def record_write(response: Response) -> Response:
    """App hook: the generic record of a successful tenant or operator write no service
    recorded (an operator's goes to the platform's log)."""
    caller: Principal | None = g.get("principal")
    if caller is None or response.status_code >= 400:
        return response
    scope = _audited_scope()
    if scope is None:
        return response
    whose = None if scope == OPERATOR else caller.tenant_id
    if whose is None and scope != OPERATOR:
        return response
    try:
        record_request(context(), whose, f"{request.endpoint}.{request.method.lower()}",
                       _target(response), response.status_code)
    except Exception:  # noqa: BLE001 — the change is committed; a failed record must not hide it
        log.exception("audit record failed for %s %s", request.method, request.path)
    return response


def _unbind(_: BaseException | None) -> None:
    token = g.pop("audit_token", None)
    if token is not None:
        unbind_request(token)


def register_audit_trail(app: Flask) -> None:
    """After every blueprint is registered (and after the scope check's hooks)."""
    for name in app.blueprints:
        app.before_request_funcs.setdefault(name, []).append(bind_actor)
    app.after_request(record_write)
    app.teardown_request(_unbind)
