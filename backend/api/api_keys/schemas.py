"""Schemas of API keys."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id, UtcDateTime
from backend.domain.permissions import ROLE_NAMES, SCOPES


class ApiKeySchema(Schema):
    id = Id()
    name = fields.Str(allow_none=True)
    prefix = fields.Str(metadata={"description": "First characters of the key"})
    active = fields.Bool()
    created_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)
    scopes = fields.List(fields.Str(), metadata={"description": "What the key may do"})


class NewApiKeyRequestSchema(Schema):
    name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=100))
    scopes = fields.List(fields.Str(validate=validate.Length(max=64)), load_default=None,
                         validate=validate.Length(min=1, max=len(SCOPES)), metadata={
                             "description": "The key's scopes (unknown ones: 422)"})
    role = fields.Str(load_default=None, validate=validate.Length(max=64), metadata={
        "description": f"Or a built-in role's scopes: {', '.join(ROLE_NAMES)}. Neither: the "
                       "creator's own scopes; never more than the creator holds (403)"})


class NewApiKeySchema(ApiKeySchema):
    key = fields.Str(metadata={"description": "The key itself: shown this once, never again"})


class ApiKeyListSchema(Schema):
    results = fields.List(fields.Nested(ApiKeySchema))
