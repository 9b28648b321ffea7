"""Staff accounts over HTTP: logging in and out, the signed-in user, switching tenants, password
reset, personal access tokens; a tenant's members, their overrides, custom roles, invitations."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from flask import Response, after_this_request, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.accounts import schemas as s
from backend.api.auth import require_tenant, require_user
from backend.api.common import (
    TENANT_SECURITY,
    USER_SECURITY,
    ErrorSchema,
    context,
    principal,
    tenant_id,
)
from backend.api.scopes import PUBLIC, USER, requires
from backend.domain.errors import Forbidden, InvalidInput
from backend.services.accounts.access import (
    OverridesView,
    RoleView,
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
    MemberView,
    accept_invitation,
    change_role,
    invite,
    list_invitations,
    list_members,
    remove_member,
    revoke_invitation,
)
from backend.services.accounts.reset import confirm_reset, request_reset
from backend.services.accounts.sessions import (
    SESSION_COOKIE,
    TokenView,
    create_token,
    list_tokens,
    login,
    logout,
    member_scopes,
    revoke_token,
    switch_tenant,
)
from backend.services.accounts.users import get_user

auth_blp = Blueprint("auth", __name__, url_prefix="/v1/auth",
                     description="Staff log in and out, the signed-in user, password reset")
tokens_blp = Blueprint("tokens", __name__, url_prefix="/v1/tokens",
                       description="A staff user's personal access tokens for scripts")
tokens_blp.before_request(require_user)
members_blp = Blueprint("members", __name__, url_prefix="/v1",
                        description="A tenant's members, their scope overrides, custom roles "
                                    "and invitations")
accept_blp = Blueprint("invitation_accept", __name__, url_prefix="/v1/invitations",
                       description="Accepting an invitation (no credentials: the link's token)")


members_blp.before_request(require_tenant)


def _actor() -> Actor:
    caller = principal()
    return Actor(user_id=caller.user_id, is_platform=caller.is_service or caller.is_operator)


def _set_session_cookie(value: str, max_age: int) -> None:
    secure = context().settings.session_cookie_secure

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(SESSION_COOKIE, value, max_age=max_age, secure=secure,
                            httponly=True, samesite="Lax", path="/")
        return response


def _me() -> dict[str, Any]:
    signed_in = g.signed_in
    user, memberships = get_user(context(), signed_in.user_id)
    tenant = signed_in.tenant_id
    scopes = member_scopes(context(), tenant, user.id) if tenant else None
    return {"user": user, "tenant_id": tenant, "scopes": sorted(scopes or ()),
            "memberships": memberships}


@auth_blp.route("/login")
class Login(MethodView):
    @requires(PUBLIC)
    @auth_blp.arguments(s.LoginSchema)
    @auth_blp.response(200, s.SessionSchema)
    @auth_blp.alt_response(401, schema=ErrorSchema, description="Wrong email or password")
    @auth_blp.alt_response(404, schema=ErrorSchema, description="Not a member of tenant_id")
    @auth_blp.alt_response(429, schema=ErrorSchema,
                           description="Account locked after too many wrong passwords")
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Log in: sets the session cookie (Secure, HttpOnly, SameSite=Lax) and answers the
        CSRF token to send as X-CSRF-Token on unsafe methods"""
        started = login(context(), payload["email"], payload["password"], payload["tenant_id"])
        _set_session_cookie(started.token, context().settings.session_lifetime_hours * 3600)
        return {"user": started.user, "tenant_id": started.tenant_id,
                "csrf_token": started.csrf_token, "expires_at": started.expires_at}


@auth_blp.route("/logout")
class Logout(MethodView):
    @requires(USER)
    @auth_blp.doc(security=USER_SECURITY)
    @auth_blp.response(204)
    @auth_blp.alt_response(401, schema=ErrorSchema, description="Not logged in")
    def post(self) -> None:
        """End this session (its cookie stops working at once)"""
        require_user()
        if g.signed_in.session_id is not None:
            logout(context(), g.signed_in.session_id)
        _set_session_cookie("", 0)


@auth_blp.route("/me")
class Me(MethodView):
    @requires(USER)
    @auth_blp.doc(security=USER_SECURITY)
    @auth_blp.response(200, s.MeSchema)
    @auth_blp.alt_response(401, schema=ErrorSchema, description="Not logged in")
    def get(self) -> dict[str, Any]:
        """The signed-in user, the tenants they belong to, and their scopes on the current one"""
        require_user()
        return _me()


@auth_blp.route("/switch")
class Switch(MethodView):
    @requires(USER)
    @auth_blp.doc(security=USER_SECURITY)
    @auth_blp.arguments(s.SwitchSchema)
    @auth_blp.response(200, s.MeSchema)
    @auth_blp.alt_response(401, schema=ErrorSchema, description="Not logged in by session")
    @auth_blp.alt_response(404, schema=ErrorSchema, description="Not a member of that tenant")
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Work on another tenant the user belongs to (the session's current tenant)"""
        require_user()
        signed_in = g.signed_in
        if signed_in.session_id is None:
            raise Forbidden("A personal access token is bound to its tenant; log in to switch")
        switch_tenant(context(), signed_in.session_id, signed_in.user_id, payload["tenant_id"])
        g.signed_in = replace(signed_in, tenant_id=payload["tenant_id"])
        return _me()


@auth_blp.route("/password-reset")
class PasswordReset(MethodView):
    @requires(PUBLIC)
    @auth_blp.arguments(s.ResetRequestSchema)
    @auth_blp.response(202, s.ResetAcceptedSchema)
    def post(self, payload: dict[str, Any]) -> dict[str, str]:
        """Send a one-time code to the user's WhatsApp from the platform's number (the answer
        is the same whether the email is known or not)"""
        request_reset(context(), payload["email"])
        return {"message": "If this email has an account with a WhatsApp number, a code is on "
                           "its way from the platform's number"}


@auth_blp.route("/password-reset/confirm")
class PasswordResetConfirm(MethodView):
    @requires(PUBLIC)
    @auth_blp.arguments(s.ResetConfirmSchema)
    @auth_blp.response(204)
    @auth_blp.alt_response(400, schema=ErrorSchema, description="Wrong or expired code")
    @auth_blp.alt_response(422, schema=ErrorSchema, description="The password breaks the rule")
    def post(self, payload: dict[str, Any]) -> None:
        """Set a new password with the code; every session of the user ends"""
        confirm_reset(context(), payload["email"], payload["code"], payload["password"])


@tokens_blp.route("")
class Tokens(MethodView):
    @requires(USER)
    @tokens_blp.doc(security=USER_SECURITY)
    @tokens_blp.response(200, s.TokenListSchema)
    def get(self) -> dict[str, list[TokenView]]:
        """The user's own tokens, revoked ones included (never the tokens themselves)"""
        return {"results": list_tokens(context(), g.signed_in.user_id)}

    @requires(USER)
    @tokens_blp.doc(security=USER_SECURITY)
    @tokens_blp.arguments(s.NewTokenRequestSchema)
    @tokens_blp.response(201, s.NewTokenSchema)
    @tokens_blp.alt_response(400, schema=ErrorSchema, description="No tenant chosen")
    @tokens_blp.alt_response(404, schema=ErrorSchema, description="Not a member of the tenant")
    @tokens_blp.alt_response(422, schema=ErrorSchema, description="Unknown or ungranted scopes")
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A token for scripts on the current tenant (X-TENANT-ID or the session's), optionally
        narrower; the answer holds the token, which is not stored and not shown again"""
        tenant = request.headers.get("X-TENANT-ID", "").strip() or g.signed_in.tenant_id
        if tenant is None:
            raise InvalidInput("No tenant chosen: send X-TENANT-ID or POST /v1/auth/switch")
        new = create_token(context(), g.signed_in.user_id, tenant, payload["name"],
                           payload["scopes"], payload["expires_in_days"])
        return {**asdict(new.token), "token": new.raw_token}


@tokens_blp.route("/<int:token_id>")
class TokenById(MethodView):
    @requires(USER)
    @tokens_blp.doc(security=USER_SECURITY)
    @tokens_blp.response(204)
    @tokens_blp.alt_response(404, schema=ErrorSchema, description="No such token of this user")
    def delete(self, token_id: int) -> None:
        """Revoke one of the user's tokens at once"""
        revoke_token(context(), g.signed_in.user_id, token_id)


@members_blp.route("/members")
class Members(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(200, s.MemberListSchema)
    def get(self) -> dict[str, list[MemberView]]:
        """The tenant's members with their role and effective scopes"""
        return {"results": list_members(context(), tenant_id())}


@members_blp.route("/members/<int:user_id>")
class MemberById(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.arguments(s.RoleChangeSchema)
    @members_blp.response(200, s.MemberSchema)
    @members_blp.alt_response(403, schema=ErrorSchema, description="Only owners make owners")
    @members_blp.alt_response(404, schema=ErrorSchema, description="Not a member")
    @members_blp.alt_response(409, schema=ErrorSchema, description="The last owner")
    @members_blp.alt_response(422, schema=ErrorSchema, description="Unknown role")
    def patch(self, payload: dict[str, Any], user_id: int) -> MemberView:
        """Change a member's role (only an owner makes or unmakes an owner)"""
        return change_role(context(), tenant_id(), _actor(), user_id, payload["role"])

    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(204)
    @members_blp.alt_response(403, schema=ErrorSchema, description="Only owners remove owners")
    @members_blp.alt_response(404, schema=ErrorSchema, description="Not a member")
    @members_blp.alt_response(409, schema=ErrorSchema, description="The last owner")
    def delete(self, user_id: int) -> None:
        """Remove a member: their sessions and this tenant's tokens are revoked at once"""
        remove_member(context(), tenant_id(), _actor(), user_id)


@members_blp.route("/members/<int:user_id>/overrides")
class MemberOverrides(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(200, s.OverridesSchema)
    @members_blp.alt_response(404, schema=ErrorSchema, description="Not a member")
    def get(self, user_id: int) -> OverridesView:
        """Scopes allowed and denied to the member on top of their role"""
        return get_overrides(context(), tenant_id(), user_id)

    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.arguments(s.OverridesSchema)
    @members_blp.response(200, s.OverridesSchema)
    @members_blp.alt_response(404, schema=ErrorSchema, description="Not a member")
    @members_blp.alt_response(422, schema=ErrorSchema, description="Unknown scopes")
    def put(self, payload: dict[str, Any], user_id: int) -> OverridesView:
        """Replace the member's overrides (deny wins over the role and over allow)"""
        return set_overrides(context(), tenant_id(), user_id, payload["allow"], payload["deny"])


@members_blp.route("/roles")
class Roles(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(200, s.RoleListSchema)
    def get(self) -> dict[str, list[RoleView]]:
        """The built-in roles and the tenant's own, with their scopes"""
        return {"results": list_roles(context(), tenant_id())}

    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.arguments(s.NewRoleSchema)
    @members_blp.response(201, s.RoleSchema)
    @members_blp.alt_response(409, schema=ErrorSchema, description="The name is taken")
    @members_blp.alt_response(422, schema=ErrorSchema, description="Unknown scopes or bad name")
    def post(self, payload: dict[str, Any]) -> RoleView:
        """Create a custom role"""
        return create_role(context(), tenant_id(), payload["name"], payload["scopes"])


@members_blp.route("/roles/<string:name>")
class RoleByName(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.arguments(s.RoleScopesSchema)
    @members_blp.response(200, s.RoleSchema)
    @members_blp.alt_response(404, schema=ErrorSchema, description="No such custom role")
    @members_blp.alt_response(422, schema=ErrorSchema, description="Unknown scopes, built-in role")
    def put(self, payload: dict[str, Any], name: str) -> RoleView:
        """Replace a custom role's scopes (its members' scopes change at once)"""
        return update_role(context(), tenant_id(), name, payload["scopes"])

    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(204)
    @members_blp.alt_response(404, schema=ErrorSchema, description="No such custom role")
    @members_blp.alt_response(409, schema=ErrorSchema, description="Still held or offered")
    def delete(self, name: str) -> None:
        """Delete a custom role nobody holds"""
        delete_role(context(), tenant_id(), name)


@members_blp.route("/invitations")
class Invitations(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(200, s.InvitationListSchema)
    def get(self) -> dict[str, list[InvitationView]]:
        """The tenant's invitations (never their tokens)"""
        return {"results": list_invitations(context(), tenant_id())}

    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.arguments(s.InviteSchema)
    @members_blp.response(201, s.NewInvitationSchema)
    @members_blp.alt_response(403, schema=ErrorSchema, description="Only owners invite owners")
    @members_blp.alt_response(409, schema=ErrorSchema, description="Already a member")
    @members_blp.alt_response(422, schema=ErrorSchema, description="Unknown role")
    def post(self, payload: dict[str, Any]) -> InvitationView:
        """Invite by link: the answer holds the one-time token and link (shown this once)"""
        caller = principal()
        actor = _actor()
        if caller.api_key_id is not None and payload["role"] == "owner":
            raise Forbidden("Only an owner may make, change or remove an owner")
        return invite(context(), tenant_id(), payload["email"], payload["role"],
                      caller.user_id, actor)


@members_blp.route("/invitations/<int:invitation_id>")
class InvitationById(MethodView):
    @requires("users:manage")
    @members_blp.doc(security=TENANT_SECURITY)
    @members_blp.response(200, s.InvitationSchema)
    @members_blp.alt_response(404, schema=ErrorSchema, description="No such invitation")
    def delete(self, invitation_id: int) -> InvitationView:
        """Withdraw an invitation (its link stops working)"""
        return revoke_invitation(context(), tenant_id(), invitation_id)


@accept_blp.route("/accept")
class AcceptInvitation(MethodView):
    @requires(PUBLIC)
    @accept_blp.arguments(s.AcceptSchema)
    @accept_blp.response(201, s.AcceptedSchema)
    @accept_blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    @accept_blp.alt_response(409, schema=ErrorSchema, description="The email is taken")
    @accept_blp.alt_response(410, schema=ErrorSchema, description="Expired, withdrawn or used")
    @accept_blp.alt_response(422, schema=ErrorSchema, description="Weak or missing password")
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Join the tenant: a new user sets a password (and may give a WhatsApp number for reset
        codes); an existing user is added with their current password"""
        accepted = accept_invitation(context(), payload["token"], payload["password"],
                                     payload["name"], payload["phone"])
        return {"user": accepted.user, "tenant_id": accepted.tenant_id, "role": accepted.role}
