"""Schemas of tenant settings (the JSON shapes come from backend/domain/tenant_settings.py)."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import BoundedInt, Count
from backend.domain.tenant_settings import (
    LANGUAGES,
    TENANT_STATUSES,
    BusinessHoursSchema,
    FeaturesPatchSchema,
    FeaturesSchema,
    QuietHoursSchema,
    is_timezone,
)
from backend.domain.tiers import TIER_NAME_PATTERN


def _iana(name: str) -> None:
    if not is_timezone(name):
        raise ValidationError("Not an IANA timezone name (e.g. Africa/Nairobi).")


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


class TenantSettingsPatchSchema(Schema):
    """What a merchant may change; tier and status are the platform operator's."""

    name = fields.Str(validate=validate.Length(min=1, max=200))
    timezone = fields.Str(validate=_iana)
    primary_language = fields.Str(validate=validate.OneOf(LANGUAGES))
    business_hours = fields.Nested(BusinessHoursSchema)
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    features = fields.Nested(FeaturesPatchSchema)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one setting to change.")


class OperatorTenantPatchSchema(TenantSettingsPatchSchema):
    tier = fields.Str(validate=validate.Regexp(TIER_NAME_PATTERN), metadata={
        "description": "A tier's name; a downgrade is refused (422) while usage exceeds it"})
    status = fields.Str(validate=validate.OneOf(TENANT_STATUSES))

