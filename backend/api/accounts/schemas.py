"""Schemas of staff accounts: login, the signed-in user, tokens, members, roles, invitations."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Id, UtcDateTime
from backend.interface import inputs

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
LoginSchema = inputs.LoginSchema
SwitchSchema = inputs.SwitchSchema
ResetRequestSchema = inputs.ResetRequestSchema
ResetConfirmSchema = inputs.ResetConfirmSchema
AcceptSchema = inputs.AcceptSchema
OverridesSchema = inputs.OverridesSchema
NewRoleSchema = inputs.NewRoleSchema
RoleScopesSchema = inputs.RoleScopesSchema

SCOPE_LIST = fields.List(fields.Str(validate=validate.Length(max=64)),
                         validate=validate.Length(max=64))


class UserSchema(Schema):
    id = Id()
    email = fields.Str()
    name = fields.Str(allow_none=True)
    is_operator = fields.Bool()
    has_phone = fields.Bool(metadata={"description": "A WhatsApp number for reset codes is set"})
    created_at = UtcDateTime()


class MembershipSchema(Schema):
    tenant_id = fields.Str()
    tenant_name = fields.Str()
    role = fields.Str()


class SessionSchema(Schema):
    user = fields.Nested(UserSchema)
    tenant_id = fields.Str(allow_none=True, metadata={"description": "The current tenant"})
    csrf_token = fields.Str(metadata={"description": "Send it as X-CSRF-Token on POST, PUT, "
                                                     "PATCH and DELETE"})
    expires_at = UtcDateTime()


class MeSchema(Schema):
    user = fields.Nested(UserSchema)
    tenant_id = fields.Str(allow_none=True, metadata={"description": "The current tenant"})
    scopes = fields.List(fields.Str(), metadata={"description": "Scopes on the current tenant"})
    memberships = fields.List(fields.Nested(MembershipSchema))


class ResetAcceptedSchema(Schema):
    message = fields.Str()


class TokenSchema(Schema):
    id = Id()
    name = fields.Str()
    prefix = fields.Str(metadata={"description": "First characters of the token"})
    tenant_id = fields.Str()
    scopes = fields.List(fields.Str(), allow_none=True,
                         metadata={"description": "None: the user's scopes on the tenant"})
    expires_at = UtcDateTime(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class NewTokenRequestSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(fields.Str(validate=validate.Length(max=64)), load_default=None,
                         allow_none=True, validate=validate.Length(max=64),
                         metadata={"description": "Narrower than the user's scopes; omit for all"})
    expires_in_days = BoundedInt(minimum=1, maximum=3650, load_default=None, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.Str(metadata={"description": "The token itself: shown this once, never again"})


class TokenListSchema(Schema):
    results = fields.List(fields.Nested(TokenSchema))


class MemberSchema(Schema):
    user_id = Id()
    email = fields.Str()
    name = fields.Str(allow_none=True)
    role = fields.Str()
    scopes = fields.List(fields.Str(), metadata={"description": "Effective scopes"})
    created_at = UtcDateTime()


class MemberListSchema(Schema):
    results = fields.List(fields.Nested(MemberSchema))


RoleChangeSchema = inputs.RoleChangeSchema  # shared with the web app



class RoleSchema(Schema):
    name = fields.Str()
    scopes = fields.List(fields.Str())
    built_in = fields.Bool()


class RoleListSchema(Schema):
    results = fields.List(fields.Nested(RoleSchema))




class InvitationSchema(Schema):
    id = Id()
    tenant_id = fields.Str()
    email = fields.Str()
    role = fields.Str()
    expires_at = UtcDateTime()
    accepted_at = UtcDateTime(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class NewInvitationSchema(InvitationSchema):
    token = fields.Str(metadata={"description": "The one-time token: shown this once"})
    link = fields.Str(metadata={"description": "The link to send the invitee: the web page "
                                               "/app/invite?token=… (scripts POST the token to "
                                               "/v1/invitations/accept)"})


class InvitationListSchema(Schema):
    results = fields.List(fields.Nested(InvitationSchema))


InviteSchema = inputs.InviteSchema  # shared with the web app


class AcceptedSchema(Schema):
    user = fields.Nested(UserSchema)
    tenant_id = fields.Str()
    role = fields.Str()
