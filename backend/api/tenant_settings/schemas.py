"""Schemas of tenant settings (the JSON shapes come from backend/domain/tenant_settings.py)."""

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Count
from backend.domain.tenant_settings import (
    TENANT_STATUSES,
    BusinessHoursSchema,
    FeaturesSchema,
    QuietHoursSchema,
)
from backend.domain.tiers import TIER_NAME_PATTERN
from backend.interface import inputs


_iana = inputs.check_timezone  # backend/api/platform/schemas.py checks timezones with it


class UsageSchema(Schema):
    messages_this_month = Count()
    max_messages_per_month = Count(allow_none=True, metadata={"description": "null: no limit"})
    max_products = Count(allow_none=True)
    max_services = Count(allow_none=True)
    fee_basis_points = BoundedInt(metadata={"description": "Platform fee; 250 = 2.5 %"})


class TenantSettingsSchema(Schema):
    id = fields.Str()
    name = fields.Str()
    whatsapp_number = fields.Str(metadata={"description": "E.164"})
    status = fields.Str(metadata={"description": " | ".join(TENANT_STATUSES)})
    tier = fields.Str(metadata={"description": "A tier's name (GET /v1/platform/tiers)"})
    currency = fields.Str()
    timezone = fields.Str()
    primary_language = fields.Str()
    business_hours = fields.Nested(BusinessHoursSchema)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    features = fields.Nested(FeaturesSchema)
    usage = fields.Nested(UsageSchema)
    created_at = fields.DateTime()


# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
TenantSettingsPatchSchema = inputs.TenantSettingsPatchSchema


class OperatorTenantPatchSchema(TenantSettingsPatchSchema):
    tier = fields.Str(validate=validate.Regexp(TIER_NAME_PATTERN), metadata={
        "description": "A tier's name; a downgrade is refused (422) while usage exceeds it"})
    status = fields.Str(validate=validate.OneOf(TENANT_STATUSES))

