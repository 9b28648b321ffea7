"""Schemas of business-initiated messages, templates and the usage of the tier's limits."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import BoundedInt, Count, Id, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.domain.messaging import BUSINESS_KINDS
from backend.domain.tenant_settings import LANGUAGES
from backend.models import OUTBOUND_STATUSES

TEXT_MAX = 1600
VARIABLE = validate.Length(min=1, max=300)


class SendSchema(Schema):
    customer_id = Id(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(BUSINESS_KINDS), metadata={
        "description": "Which consent it needs: transactional (orders, bookings), reminders, "
                       "promotional"})
    text = fields.Str(load_default=None, validate=validate.Length(min=1, max=TEXT_MAX),
                      metadata={"description": "Free text: only inside the 24-hour window"})
    media_url = fields.URL(load_default=None, require_tld=False,
                           validate=validate.Length(max=2048))
    template = fields.Str(load_default=None, validate=validate.Length(min=1, max=64),
                          metadata={"description": "A template's name, sent in the customer's "
                                    "language (a Sheng speaker without a sheng variant gets the "
                                    "sw one; no variant they read: 422 "
                                    "template_language_missing); outside the window the variant "
                                    "must be approved"})
    variables = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=64)),
                            values=fields.Str(validate=VARIABLE), load_default=None,
                            validate=validate.Length(max=20))
    urgent = fields.Bool(load_default=False, metadata={
        "description": "Go out during quiet hours too (e.g. a payment receipt)"})

    @validates_schema
    def _one_content(self, data: dict[str, Any], **_: Any) -> None:
        has_text = data.get("text") is not None or data.get("media_url") is not None
        if has_text == (data.get("template") is not None):
            raise ValidationError("Send either text (and/or media_url) or a template.")
        if data.get("variables") and data.get("template") is None:
            raise ValidationError("variables go with a template.", "variables")


class ScheduleSchema(SendSchema):
    send_at = fields.AwareDateTime(required=True, metadata={
        "description": "When to send (ISO 8601 with an offset); the rules apply then too"})


class SendResultSchema(Schema):
    ids = fields.List(Id())
    status = fields.Str(metadata={"description": "queued (going out now) or scheduled"})
    due_at = UtcDateTime()
    deferred = fields.List(fields.Str(), metadata={
        "description": "Why it waits: scheduled, quiet_hours, daily_limit"})
    warnings = fields.List(fields.Str(), metadata={
        "description": "The tier's daily or monthly limit reached 80 % (said once per period)"})
    language = fields.Str(metadata={"description": "The language the message is in"})


class MessageQuerySchema(PageQuerySchema):
    status = fields.Str(load_default=None, validate=validate.OneOf(OUTBOUND_STATUSES))
    customer_id = Id(load_default=None)


class OutboundSchema(Schema):
    id = Id()
    customer_id = Id(allow_none=True)
    kind = fields.Str()
    status = fields.Str(metadata={"description": " | ".join(OUTBOUND_STATUSES)})
    body = fields.Str(allow_none=True)
    template_id = Id(allow_none=True)
    language = fields.Str(allow_none=True)
    urgent = fields.Bool()
    due_at = UtcDateTime()
    provider_sid = fields.Str(allow_none=True)
    error = fields.Str(allow_none=True)
    error_code = BoundedInt(allow_none=True, metadata={"description": "Twilio's"})
    attempts = Count()
    created_at = UtcDateTime()


OutboundPageSchema = page_schema(OutboundSchema, "OutboundMessagePage")


class PeriodUsageSchema(Schema):
    used = Count()
    limit = Count(allow_none=True, metadata={"description": "null: unlimited"})
    warning = fields.Bool(metadata={"description": "80 % or more used"})


class MessageUsageSchema(Schema):
    day = fields.Nested(PeriodUsageSchema)
    month = fields.Nested(PeriodUsageSchema)
    warnings = fields.List(fields.Dict(), metadata={
        "description": "Warnings given (period, period_start, used, allowed, created_at, and "
                       "notices: how the WhatsApp messages to the owners and admins stand, "
                       "{status: count} with status queued | sending | sent | failed | unsent)"})


PLACEHOLDERS = fields.List(fields.Str(validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")),
                           validate=validate.Length(max=20))
SAMPLES = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=64)),
                      values=fields.Str(validate=VARIABLE), validate=validate.Length(max=20))


class TemplateCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Regexp(
        r"^[a-z0-9_]{1,64}$", error="1-64 lower-case letters, digits or _."))
    category = fields.Str(required=True, validate=validate.OneOf(("utility", "marketing")))
    placeholders = PLACEHOLDERS
    sample_values = SAMPLES
    variants = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(LANGUAGES)),
        values=fields.Str(validate=validate.Length(min=1, max=1024)), required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Text per language with {{placeholder}}s: {\"en\": ..., \"sw\": ...}"})


class TemplatePatchSchema(Schema):
    category = fields.Str(validate=validate.OneOf(("utility", "marketing")))
    placeholders = PLACEHOLDERS
    sample_values = SAMPLES
    variants = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(LANGUAGES)),
        values=fields.Str(validate=validate.Length(min=1, max=1024), allow_none=True),
        metadata={"description": "Changed or added texts; null removes a language"})

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send at least one field to change.")


class TemplateVariantSchema(Schema):
    language = fields.Str()
    body = fields.Str()
    approval = fields.Str(metadata={"description": "pending | approved | rejected (WhatsApp)"})
    rejection_reason = fields.Str(allow_none=True)
    content_sid = fields.Str(allow_none=True, metadata={"description": "Twilio ContentSid"})


class TemplateSchema(Schema):
    id = Id()
    name = fields.Str()
    category = fields.Str()
    placeholders = fields.List(fields.Str())
    sample_values = fields.Dict(keys=fields.Str(), values=fields.Str())
    usage_count = Count()
    variants = fields.List(fields.Nested(TemplateVariantSchema))
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


TemplatePageSchema = page_schema(TemplateSchema, "MessageTemplatePage")


class PreviewSchema(Schema):
    language = fields.Str(required=True, validate=validate.OneOf(LANGUAGES))
    variables = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=64)),
                            values=fields.Str(validate=VARIABLE), load_default=None,
                            validate=validate.Length(max=20),
                            metadata={"description": "Omitted: the template's sample values"})


class PreviewResultSchema(Schema):
    language = fields.Str()
    text = fields.Str()
    approval = fields.Str()
    content_variables = fields.Dict(keys=fields.Str(), values=fields.Str())


class StatusCallbackSchema(Schema):
    """Twilio's status callback form; every field is kept for the signature check."""

    class Meta:
        unknown = "include"

    MessageSid = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    MessageStatus = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    ErrorCode = fields.Str(load_default=None, validate=validate.Length(max=16))


class StatusAckSchema(Schema):
    outcome = fields.Str()
    status = fields.Str()
