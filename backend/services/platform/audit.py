"""The audit log: who changed what on a tenant, and from which request.

Services record their important changes (products, orders, settings, API keys, withdrawals,
roles) with `record_audit` inside the change's own transaction, so a change and its record
commit or roll back together. Who acts and from which request is bound by the API layer for the
request (`bind_request`); outside a request (jobs, the seed) the actor is "system". Any other
successful write request gets a generic record afterwards (`record_request`), unless a service
already recorded it. The platform operator's actions that belong to no tenant (discount codes,
tiers, and any other operator write) are recorded the same way with no tenant
(`record_platform_audit`), read by `list_platform_audit_logs`. Personal data in before/after is
masked before it is stored: phones (the rules of pii.masking), e-mail addresses and people's
names; secrets never appear.
"""

from __future__ import annotations

import dataclasses
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AuditLog
from backend.services.platform.pages import Page, fetch_page
from backend.wiring import Context
from pii.masking import mask_payload

SYSTEM = "system"
SERVICE = "service"
MASKED = "****"
REDACTED = "[redacted]"
NAME_KEYS = frozenset({"profile_name", "full_name", "first_name", "last_name", "display_name",
                       "customer_name", "contact_name", "owner_name", "recipient_name"})
SECRET_PARTS = ("secret", "token", "password", "passkey", "key_hash", "credential",
                "consumer_key", "raw_key")
EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


@dataclass
class RequestAudit:
    """The request a change comes from: bound by the API layer, read by `record_audit`."""

    actor: str
    request_id: str | None = None
    ip: str | None = None
    route: str | None = None
    recorded: int = field(default=0)  # records written by services during this request


_request: ContextVar[RequestAudit | None] = ContextVar("audit_request", default=None)


def bind_request(audit: RequestAudit) -> Token[RequestAudit | None]:
    return _request.set(audit)


def unbind_request(token: Token[RequestAudit | None]) -> None:
    _request.reset(token)


def current_actor() -> str:
    """"user:5", "api_key:3", "service" in a request; "system" for jobs and scripts."""
    bound = _request.get()
    return bound.actor if bound is not None else SYSTEM


def actor_name(is_service: bool, user_id: int | None, api_key_id: int | None) -> str:
    """One spelling of the actor everywhere: a user, else an API key (its own actor), else the
    service."""
    if user_id is not None:
        return f"user:{user_id}"
    if api_key_id is not None:
        return f"api_key:{api_key_id}"
    return SERVICE if is_service else SYSTEM


def _mask_email(text: str) -> str:
    return EMAIL.sub(lambda m: f"{m.group(1)}{MASKED}@{m.group(2)}", text)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _mask_people(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            lowered = key.lower()
            if any(part in lowered for part in SECRET_PARTS) and not isinstance(item, bool):
                out[key] = None if item is None else REDACTED
            elif (lowered in NAME_KEYS or "email" in lowered) and isinstance(item, str):
                out[key] = _mask_email(item) if "email" in lowered else MASKED
            else:
                out[key] = _mask_people(item)
        return out
    if isinstance(value, list):
        return [_mask_people(item) for item in value]
    if isinstance(value, str):
        return _mask_email(value)
    return value


def masked(value: Any) -> Any:
    """`value` as JSON with phones, e-mail addresses, people's names and secrets masked."""
    if value is None:
        return None
    plain = _jsonable(value)
    return _mask_people(mask_payload(plain))


def _row(tenant_id: str | None, actor: str | None, action: str, target: tuple[str, Any] | None,
         before: Any, after: Any, status: int | None) -> AuditLog:
    bound = _request.get()
    return AuditLog(
        tenant_id=tenant_id, actor=actor or current_actor(), action=action,
        target_type=target[0] if target else None,
        target_id=None if target is None or target[1] is None else str(target[1]),
        before=masked(before), after=masked(after), status=status,
        route=bound.route if bound else None, request_id=bound.request_id if bound else None,
        ip=bound.ip if bound else None)


def record_audit(session: Session, tenant_id: str | None, actor: str | None, action: str,
                 target: tuple[str, Any] | None, before: Any = None, after: Any = None) -> None:
    """Record a change in the caller's transaction; `actor` None: whoever the request is;
    `tenant_id` None: a platform record (the operator's, belonging to no tenant)."""
    bound = _request.get()
    if bound is not None:
        bound.recorded += 1
    session.add(_row(tenant_id, actor, action, target, before, after, None))


def record_platform_audit(session: Session, action: str, target: tuple[str, Any] | None,
                          before: Any = None, after: Any = None,
                          actor: str | None = None) -> None:
    """Record an operator's change that belongs to no tenant, in the caller's transaction."""
    record_audit(session, None, actor, action, target, before, after)


def record_request(ctx: Context, tenant_id: str | None, action: str, target: tuple[str, Any] | None,
                   status: int) -> bool:
    """The generic record of a successful write request, unless a service recorded it (True
    when written)."""
    bound = _request.get()
    if bound is not None and bound.recorded:
        return False
    with ctx.db.transaction() as session:
        session.add(_row(tenant_id, None, action, target, None, None, status))
    return True


@dataclass(frozen=True)
class AuditView:
    id: int
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    route: str | None
    status: int | None
    request_id: str | None
    ip: str | None
    created_at: datetime


def _view(row: AuditLog) -> AuditView:
    return AuditView(row.id, row.actor, row.action, row.target_type, row.target_id, row.before,
                     row.after, row.route, row.status, row.request_id, row.ip, row.created_at)


def list_audit_logs(ctx: Context, tenant_id: str, **filters: Any) -> Page[AuditView]:
    """The tenant's audit records, newest first, filtered (start inclusive, end exclusive)."""
    return _list(ctx, AuditLog.tenant_id == tenant_id, **filters)


def list_platform_audit_logs(ctx: Context, **filters: Any) -> Page[AuditView]:
    """The platform's own records (no tenant), with the same filters and paging."""
    return _list(ctx, AuditLog.tenant_id.is_(None), **filters)


def _list(ctx: Context, whose: Any, *, actor: str | None = None, action: str | None = None,
          target_type: str | None = None, target_id: str | None = None,
          start: datetime | None = None, end: datetime | None = None, page: int = 1,
          page_size: int = 50) -> Page[AuditView]:
    query = select(AuditLog).where(whose)
    for column, wanted in ((AuditLog.actor, actor), (AuditLog.action, action),
                           (AuditLog.target_type, target_type), (AuditLog.target_id, target_id)):
        if wanted is not None:
            query = query.where(column == wanted)
    if start is not None:
        query = query.where(AuditLog.created_at >= start)
    if end is not None:
        query = query.where(AuditLog.created_at < end)
    with ctx.db.transaction() as session:
        count, rows = fetch_page(session, query, page, page_size, AuditLog.id.desc())
        return Page(count, page, page_size, [_view(row) for row in rows])
