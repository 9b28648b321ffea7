"""Schemas of tenant routing."""

from marshmallow import Schema, fields, validate


class ResolveQuerySchema(Schema):
    number = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "WhatsApp address or phone number, e.g. whatsapp:+254700000001"},
    )


class TenantRoutingSchema(Schema):
    tenant_id = fields.Str()
    name = fields.Str()
    whatsapp_number = fields.Str(metadata={"description": "E.164"})
    twilio_account_sid = fields.Str()
    twilio_auth_token = fields.Str()
    sandbox = fields.Bool()
    primary_language = fields.Str()
