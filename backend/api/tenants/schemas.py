"""Schemas of tenant routing."""

from marshmallow import Schema, fields, validate

from backend.domain.tenant_settings import BusinessHoursSchema, FeaturesSchema, QuietHoursSchema


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
    status = fields.Str(metadata={"description": "trial | active | suspended"})
    tier = fields.Str(metadata={"description": "starter | growth | enterprise"})
    timezone = fields.Str(metadata={"description": "IANA name, e.g. Africa/Nairobi"})
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    business_hours = fields.Nested(BusinessHoursSchema)
    features = fields.Nested(FeaturesSchema)
