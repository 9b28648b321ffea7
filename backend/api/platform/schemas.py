"""Schemas of the platform operator's endpoints. The Twilio auth token is load-only: no schema
here can dump it."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Count, Id, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.api.tenant_settings.schemas import TenantSettingsSchema, _iana
from backend.domain.tenant_settings import LANGUAGES, TENANT_STATUSES
from backend.domain.tiers import TIER_NAME_PATTERN
from backend.services.platform.tenants import ACCOUNT_SID, TENANT_ID

SLUG_RULE = "Lowercase letters, digits and hyphens, 1-64 characters, no hyphen at either end."
SID_RULE = "'AC' followed by 32 hex digits."


def _sid(**kwargs: object) -> fields.Str:
    return fields.Str(required=True, validate=validate.Regexp(ACCOUNT_SID, error=SID_RULE),
                      metadata={"description": "Twilio Account SID"}, **kwargs)


def _token() -> fields.Str:
    return fields.Str(required=True, load_only=True, validate=validate.Length(min=1, max=128),
                      metadata={"description": "Twilio auth token (stored encrypted, never "
                                               "returned)"})


class TenantCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=200),
                      metadata={"description": "Business name"})
    slug = fields.Str(required=True, validate=validate.Regexp(TENANT_ID, error=SLUG_RULE),
                      metadata={"description": "The tenant id, e.g. mama-mboga"})
    whatsapp_number = fields.Str(required=True, validate=validate.Length(min=1, max=32),
                                 metadata={"description": "The WhatsApp sender, E.164 "
                                                          "(+254700000001)"})
    twilio_account_sid = _sid()
    twilio_auth_token = _token()
    sandbox = fields.Bool(load_default=True, metadata={
        "description": "true: messages go to the local Twilio simulator"})
    timezone = fields.Str(load_default="Africa/Nairobi", validate=_iana)
    primary_language = fields.Str(load_default="en", validate=validate.OneOf(LANGUAGES))
    languages = fields.List(fields.Str(validate=validate.OneOf(LANGUAGES)), load_default=list,
                            validate=validate.Length(max=len(LANGUAGES)),
                            metadata={"description": "Languages the shop serves (the primary "
                                                     "one is always included)"})
    tier = fields.Str(load_default="starter", validate=validate.Regexp(TIER_NAME_PATTERN),
                      metadata={"description": "A tier's name (GET /v1/platform/tiers)"})
    owner_email = fields.Email(required=True, validate=validate.Length(max=254), metadata={
        "description": "The owner, invited by email to create their account"})


class TwilioTestSchema(Schema):
    ok = fields.Bool()
    tested_at = UtcDateTime()
    error = fields.Str(allow_none=True, metadata={"description": "Twilio's refusal or why it "
                                                                 "could not be reached"})
    account_status = fields.Str(allow_none=True)


class CredentialsTestSchema(Schema):
    twilio_account_sid = _sid()
    twilio_auth_token = _token()
    sandbox = fields.Bool(load_default=True)


class OperatorTenantSchema(TenantSettingsSchema):
    sandbox = fields.Bool()
    twilio_account = fields.Str(metadata={"description": "The Account SID, masked (AC…1234)"})
    languages = fields.List(fields.Str())
    owner_invitation = fields.Str(allow_none=True, metadata={
        "description": "sent (the owner was invited) | pending (not yet) | null (none asked)"})
    owner_invitation_link = fields.Str(metadata={
        "description": "Only when the tenant is created: the owner's one-time invitation link "
                       "(the web page /app/invite; scripts POST its token to "
                       "/v1/invitations/accept), for the operator to pass on"})
    twilio_test = fields.Nested(TwilioTestSchema, allow_none=True,
                                metadata={"description": "The last connection test"})
    status_reason = fields.Str(allow_none=True, metadata={
        "description": "Why the operator gave the tenant its current status"})
    status_changed_at = UtcDateTime(allow_none=True)
    fee_waiver_id = Id(allow_none=True, metadata={"description": "The fee waiver in force"})


class TenantSummarySchema(Schema):
    id = fields.Str()
    name = fields.Str()
    whatsapp_number = fields.Str()
    status = fields.Str()
    tier = fields.Str()
    sandbox = fields.Bool()
    twilio_account = fields.Str()
    created_at = UtcDateTime()


TenantPageSchema = page_schema(TenantSummarySchema, "OperatorTenantPage")


class TenantQuerySchema(PageQuerySchema):
    q = fields.Str(load_default=None, validate=validate.Length(min=1, max=100), metadata={
        "description": "Part of the name, the slug or the WhatsApp number"})
    status = fields.Str(load_default=None, validate=validate.OneOf(TENANT_STATUSES))
    tier = fields.Str(load_default=None, validate=validate.Regexp(TIER_NAME_PATTERN))


class ReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=1000))


class TierChangeSchema(Schema):
    tier = fields.Str(required=True, validate=validate.Regexp(TIER_NAME_PATTERN), metadata={
        "description": "A tier's name; a downgrade is refused (422) while usage exceeds it"})


class FeeWaiverCreateSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=1000))
    starts_at = fields.AwareDateTime(load_default=None, metadata={"description": "Default: now"})
    ends_at = fields.AwareDateTime(load_default=None, metadata={
        "description": "null: until revoked"})


class FeeWaiverSchema(Schema):
    id = Id()
    tenant_id = fields.Str()
    reason = fields.Str()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime(allow_none=True)
    active = fields.Bool(metadata={"description": "In force right now"})
    created_by = fields.Str()
    revoked_at = UtcDateTime(allow_none=True)
    revoked_by = fields.Str(allow_none=True)
    revoke_reason = fields.Str(allow_none=True)
    created_at = UtcDateTime()


class FeeWaiverListSchema(Schema):
    results = fields.List(fields.Nested(FeeWaiverSchema))


class RevenueQuerySchema(Schema):
    year = BoundedInt(required=True, validate=validate.Range(min=2000, max=9998))


class MonthRevenueSchema(Schema):
    month = fields.Str(metadata={"description": "YYYY-MM (UTC)"})
    currency = fields.Str()
    transaction_fees_minor = Count(metadata={"description": "Platform fees on payments"})
    subscriptions_minor = Count(metadata={"description": "Paid subscription invoices, net of tax"})
    total_minor = Count()


class RevenueSchema(Schema):
    year = BoundedInt()
    sources = fields.List(fields.Str(), metadata={
        "description": "What the figures include (subscriptions once invoices exist)"})
    months = fields.List(fields.Nested(MonthRevenueSchema))
