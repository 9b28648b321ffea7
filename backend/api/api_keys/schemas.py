"""Schemas of API keys."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id, UtcDateTime


class ApiKeySchema(Schema):
    id = Id()
    name = fields.Str(allow_none=True)
    prefix = fields.Str(metadata={"description": "First characters of the key"})
    active = fields.Bool()
    created_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class NewApiKeyRequestSchema(Schema):
    name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=100))


class NewApiKeySchema(ApiKeySchema):
    key = fields.Str(metadata={"description": "The key itself: shown this once, never again"})


class ApiKeyListSchema(Schema):
    results = fields.List(fields.Nested(ApiKeySchema))
