"""Users and roles (users:manage): the shop's members with their role, inviting by email with
a role (the one-time link is shown once, as POST /v1/invitations answers it), changing a
member's role and removing a member, through the API's members service (only an owner makes,
demotes or removes an owner; the last owner stays: its 409 message is the page's), and the
roles with their scopes, built-in and the shop's own."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.permissions import ROLE_NAMES
from backend.interface.inputs import InviteSchema, RoleChangeSchema
from backend.interface.scopes import requires
from backend.services.accounts.access import list_roles
from backend.services.accounts.members import (
    Actor,
    InvitationView,
    change_role,
    invite,
    list_invitations,
    list_members,
    remove_member,
)
from backend.web.core import blp, context, done, page, tenant_id, validated, viewer


def _actor() -> Actor:
    return Actor(user_id=viewer().signed_in.user_id, is_platform=False)


def _users_page(status: int = 200, invited: InvitationView | None = None) -> Response:
    open_invitations = [i for i in list_invitations(context(), tenant_id())
                        if i.accepted_at is None and i.revoked_at is None]
    return page("users.html", status=status, members=list_members(context(), tenant_id()),
                invitations=open_invitations, roles=list_roles(context(), tenant_id()),
                invited=invited, me=viewer().signed_in.user_id, built_in=ROLE_NAMES)


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
