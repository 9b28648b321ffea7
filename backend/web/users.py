"""Users and roles (users:manage): the shop's members with their role, inviting by email with
a role (the one-time link is shown once, as POST /v1/invitations answers it), changing a
member's role and removing a member, through the API's members service (only an owner makes,
demotes or removes an owner; the last owner stays: its 409 message is the page's), and the
roles with their scopes, built-in and the shop's own."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.permissions import ROLE_NAMES, SCOPES, effective_scopes
from backend.interface.inputs import (
    InviteSchema,
    NewRoleSchema,
    OverridesSchema,
    RoleChangeSchema,
    RoleScopesSchema,
)
from backend.interface.scopes import requires
from backend.services.accounts.access import (
    create_role,
    delete_role,
    get_overrides,
    list_roles,
    set_overrides,
    update_role,
)
from backend.services.accounts.members import (
    Actor,
    InvitationView,
    change_role,
    invite,
    list_invitations,
    list_members,
    remove_member,
)
from backend.web.core import PageError, blp, context, done, page, tenant_id, validated, viewer


def _actor() -> Actor:
    return Actor(user_id=viewer().signed_in.user_id, is_platform=False)


def _users_page(status: int = 200, invited: InvitationView | None = None) -> Response:
    open_invitations = [i for i in list_invitations(context(), tenant_id())
                        if i.accepted_at is None and i.revoked_at is None]
    return page("users.html", status=status, members=list_members(context(), tenant_id()),
                invitations=open_invitations, roles=list_roles(context(), tenant_id()),
                invited=invited, me=viewer().signed_in.user_id, built_in=ROLE_NAMES,
                all_scopes=list(SCOPES))


@blp.get("/users")
@requires("users:manage")
def users() -> Response:
    return _users_page()


@blp.post("/users/invitations")
@requires("users:manage")
def user_invite() -> Response:
    """The link is in this answer only (never stored in clear), so the page is rendered here
    rather than redirected to."""
    body = validated(InviteSchema(), {key: request.form.get(key, "").strip()
                                      for key in ("email", "role")})
    made = invite(context(), tenant_id(), body["email"], body["role"],
                  viewer().signed_in.user_id, _actor())
    return _users_page(201, invited=made)


@blp.post("/users/<int:user_id>/role")
@requires("users:manage")
def user_role(user_id: int) -> Response:
    body: dict[str, Any] = validated(RoleChangeSchema(), {"role": request.form.get("role", "")})
    change_role(context(), tenant_id(), _actor(), user_id, body["role"])
    return done("web.users", "users.role_changed")


@blp.post("/users/<int:user_id>/remove")
@requires("users:manage")
def user_remove(user_id: int) -> Response:
    remove_member(context(), tenant_id(), _actor(), user_id)
    return done("web.users", "users.removed")


def _scopes_ticked(field: str = "scopes") -> list[str]:
    """The ticked scope boxes, in the catalogue's order (unknown names are the schema's and
    the service's to refuse)."""
    return request.form.getlist(field)


@blp.post("/users/roles")
@requires("users:manage")
def role_create() -> Response:
    body = validated(NewRoleSchema(), {"name": request.form.get("name", "").strip(),
                                       "scopes": _scopes_ticked()})
    create_role(context(), tenant_id(), body["name"], body["scopes"])
    return done("web.users", "users.role_created", _anchor=f"role-row-{body['name']}")


def _custom(name: str) -> Any:
    found = next((r for r in list_roles(context(), tenant_id()) if r.name == name), None)
    if found is None:
        raise PageError(404, "error.not_found")
    if found.built_in:
        raise PageError(422, "users.built_in_fixed")
    return found


@blp.get("/users/roles/<string:name>")
@requires("users:manage")
def role(name: str) -> Response:
    return page("role.html", role=_custom(name), all_scopes=list(SCOPES))


@blp.post("/users/roles/<string:name>")
@requires("users:manage")
def role_update(name: str) -> Response:
    _custom(name)
    body = validated(RoleScopesSchema(), {"scopes": _scopes_ticked()})
    update_role(context(), tenant_id(), name, body["scopes"])
    return done("web.users", "users.role_saved", _anchor=f"role-row-{name}")


@blp.post("/users/roles/<string:name>/delete")
@requires("users:manage")
def role_delete(name: str) -> Response:
    delete_role(context(), tenant_id(), name)
    return done("web.users", "users.role_deleted", _anchor="roles-title")


def _member(user_id: int) -> Any:
    found = next((m for m in list_members(context(), tenant_id()) if m.user_id == user_id),
                 None)
    if found is None:
        raise PageError(404, "error.not_found")
    return found


@blp.get("/users/<int:user_id>/access")
@requires("users:manage")
def user_access(user_id: int) -> Response:
    member = _member(user_id)
    overrides = get_overrides(context(), tenant_id(), user_id)
    role_has = next((frozenset(r.scopes) for r in list_roles(context(), tenant_id())
                     if r.name == member.role), frozenset())
    return page("user_access.html", member=member, overrides=overrides, role_has=role_has,
                effective=effective_scopes(role_has, frozenset(overrides.allow),
                                           frozenset(overrides.deny)),
                all_scopes=list(SCOPES), built_in=ROLE_NAMES)


@blp.post("/users/<int:user_id>/access")
@requires("users:manage")
def user_access_update(user_id: int) -> Response:
    """Each scope's choice: "role" (as the role says), "allow" or "deny"."""
    _member(user_id)
    choices = {scope: request.form.get(f"scope-{scope}", "role") for scope in SCOPES}
    body = validated(OverridesSchema(), {
        "allow": [scope for scope, choice in choices.items() if choice == "allow"],
        "deny": [scope for scope, choice in choices.items() if choice == "deny"]})
    set_overrides(context(), tenant_id(), user_id, body["allow"], body["deny"])
    return done("web.user_access", "users.access_saved", user_id=user_id)
