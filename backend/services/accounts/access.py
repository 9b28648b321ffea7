"""What a member may do: their role's scopes (built-in or the tenant's own role) plus allowed
overrides minus denied ones (deny wins); the tenant's custom roles and each member's overrides."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.domain.errors import Conflict, NotFound, Unprocessable
from backend.domain.permissions import BUILT_IN_ROLES, effective_scopes, unknown_scopes
from backend.models import Invitation, Membership, ScopeOverride, TenantRole
from backend.services.platform.audit import record_audit
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")


@dataclass(frozen=True)
class RoleView:
    name: str
    scopes: list[str]
    built_in: bool


@dataclass(frozen=True)
class OverridesView:
    allow: list[str]
    deny: list[str]


def membership(session: Session, tenant_id: str, user_id: int) -> Membership | None:
    return session.scalar(select(Membership).where(
        Membership.tenant_id == tenant_id, Membership.user_id == user_id))


def role_scopes(session: Session, tenant_id: str, role: str) -> frozenset[str] | None:
    """A built-in role's scopes or the tenant's own role's; None for an unknown role."""
    if role in BUILT_IN_ROLES:
        return BUILT_IN_ROLES[role]
    scopes = session.scalar(select(TenantRole.scopes).where(
        TenantRole.tenant_id == tenant_id, TenantRole.name == role))
    return None if scopes is None else frozenset(scopes)


def require_role(session: Session, tenant_id: str, role: str) -> frozenset[str]:
    scopes = role_scopes(session, tenant_id, role)
    if scopes is None:
        raise Unprocessable(f"Unknown role {role!r}", {"role": [f"Unknown role {role!r}"]})
    return scopes


def _overrides(session: Session, tenant_id: str, user_id: int) -> OverridesView:
    rows = session.execute(select(ScopeOverride.scope, ScopeOverride.effect).where(
        ScopeOverride.tenant_id == tenant_id, ScopeOverride.user_id == user_id)).all()
    return OverridesView(sorted(s for s, e in rows if e == "allow"),
                         sorted(s for s, e in rows if e == "deny"))


def scopes_for(session: Session, tenant_id: str, user_id: int) -> frozenset[str] | None:
    """The user's effective scopes on the tenant; None when they are not a member (the caller
    answers 404 for the tenant)."""
    member = membership(session, tenant_id, user_id)
    if member is None:
        return None
    base = role_scopes(session, tenant_id, member.role) or frozenset()
    overrides = _overrides(session, tenant_id, user_id)
    return effective_scopes(base, frozenset(overrides.allow), frozenset(overrides.deny))


def _check_scopes(scopes: list[str]) -> list[str]:
    unknown = unknown_scopes(scopes)
    if unknown:
        message = f"Unknown scope(s): {', '.join(unknown)}"
        raise Unprocessable(message, {"scopes": [message]})
    return sorted(set(scopes))


def list_roles(ctx: Context, tenant_id: str) -> list[RoleView]:
    """The built-in roles, then the tenant's own by name."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        custom = session.scalars(select(TenantRole).where(
            TenantRole.tenant_id == tenant_id).order_by(TenantRole.name)).all()
        return ([RoleView(name, sorted(scopes), True) for name, scopes in BUILT_IN_ROLES.items()]
                + [RoleView(role.name, sorted(role.scopes), False) for role in custom])


def create_role(ctx: Context, tenant_id: str, name: str, scopes: list[str]) -> RoleView:
    """A tenant's own role: 409 for a taken name (built-in names included), 422 unknown scopes."""
    if not ROLE_NAME.match(name):
        raise Unprocessable("Role names are 2-64 lowercase letters, digits, '_' or '-'",
                            {"name": ["Role names are 2-64 lowercase letters, digits, '_' or '-'"]})
    checked = _check_scopes(scopes)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        if role_scopes(session, tenant_id, name) is not None:
            raise Conflict(f"A role named {name!r} already exists")
        session.add(TenantRole(tenant_id=tenant_id, name=name, scopes=checked))
        record_audit(session, tenant_id, None, "role.create", ("role", name),
                     after={"name": name, "scopes": checked})
    return RoleView(name, checked, False)


def _custom_role(session: Session, tenant_id: str, name: str) -> TenantRole:
    if name in BUILT_IN_ROLES:
        raise Unprocessable(f"The built-in role {name!r} cannot be changed")
    role = session.scalar(select(TenantRole).where(
        TenantRole.tenant_id == tenant_id, TenantRole.name == name))
    if role is None:
        raise NotFound(f"No role {name!r}")
    return role


def update_role(ctx: Context, tenant_id: str, name: str, scopes: list[str]) -> RoleView:
    """Replace a custom role's scopes (its members' scopes change with it at once)."""
    checked = _check_scopes(scopes)
    with ctx.db.transaction() as session:
        role = _custom_role(session, tenant_id, name)
        before = {"name": name, "scopes": sorted(role.scopes)}
        role.scopes = checked
        record_audit(session, tenant_id, None, "role.update", ("role", name), before,
                     {"name": name, "scopes": checked})
    return RoleView(name, checked, False)


def delete_role(ctx: Context, tenant_id: str, name: str) -> None:
    """Delete a custom role no member holds and no pending invitation offers (else 409)."""
    with ctx.db.transaction() as session:
        role = _custom_role(session, tenant_id, name)
        held = session.scalar(select(func.count()).select_from(Membership).where(
            Membership.tenant_id == tenant_id, Membership.role == name))
        offered = session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.tenant_id == tenant_id, Invitation.role == name,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)))
        if held or offered:
            raise Conflict(f"Role {name!r} is held by {held} member(s) and offered by "
                           f"{offered} pending invitation(s); change those first")
        record_audit(session, tenant_id, None, "role.delete", ("role", name),
                     {"name": name, "scopes": sorted(role.scopes)})
        session.delete(role)


def get_overrides(ctx: Context, tenant_id: str, user_id: int) -> OverridesView:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        if membership(session, tenant_id, user_id) is None:
            raise NotFound(f"No member {user_id}")
        return _overrides(session, tenant_id, user_id)


def set_overrides(ctx: Context, tenant_id: str, user_id: int, allow: list[str],
                  deny: list[str]) -> OverridesView:
    """Replace a member's overrides; a scope both allowed and denied is denied."""
    denied = _check_scopes(deny)
    allowed = [scope for scope in _check_scopes(allow) if scope not in denied]
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        if membership(session, tenant_id, user_id) is None:
            raise NotFound(f"No member {user_id}")
        before = _overrides(session, tenant_id, user_id)
        session.execute(delete(ScopeOverride).where(
            ScopeOverride.tenant_id == tenant_id, ScopeOverride.user_id == user_id))
        session.add_all([ScopeOverride(tenant_id=tenant_id, user_id=user_id, scope=scope,
                                       effect=effect)
                         for effect, scopes in (("allow", allowed), ("deny", denied))
                         for scope in scopes])
        after = OverridesView(allowed, denied)
        record_audit(session, tenant_id, None, "member.overrides_change", ("member", user_id),
                     before, after)
    return after
