"""Schemas of campaigns, their reach preview and report, and customers' tags."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backend.api.fields import Count, Id, Minor, UtcDateTime
from backend.api.pagination import page_schema
from backend.domain.campaigns import CAMPAIGN_STATUSES, MAX_VARIANTS, Segment
from backend.domain.tenant_settings import LANGUAGES

TAG = fields.Str(validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$",
                                          error="1-64 letters, digits, _ or -."))
VARIABLE = validate.Length(min=1, max=300)


class CampaignSegmentSchema(Schema):
    """Who gets the campaign; promotional consent is always required on top."""

    languages = fields.List(fields.Str(validate=validate.OneOf(LANGUAGES)),
                            validate=validate.Length(min=1, max=len(LANGUAGES)),
                            load_default=None, metadata={
                                "description": "The customer's language (else the tenant's)"})
    tags = fields.List(TAG, validate=validate.Length(min=1, max=20), load_default=None,
                       metadata={"description": "Customers with any of these tags"})
    last_order_before = fields.AwareDateTime(load_default=None, metadata={
        "description": "Last order placed before this instant (lapsed customers)"})
    last_order_after = fields.AwareDateTime(load_default=None, metadata={
        "description": "Last order placed at or after this instant (recent customers)"})
    total_spent_min = Minor(load_default=None, metadata={
        "description": "Paid orders' total, minor units (KES cents), at least"})
    total_spent_max = Minor(load_default=None, metadata={"description": "... at most"})
    has_bookings = fields.Bool(load_default=None, metadata={
        "description": "true: customers with an appointment; false: without"})

    @validates_schema
    def _ranges(self, data: dict[str, Any], **_: Any) -> None:
        low, high = data.get("total_spent_min"), data.get("total_spent_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("total_spent_min is above total_spent_max.", "total_spent_min")

    @post_load
    def _segment(self, data: dict[str, Any], **_: Any) -> Segment:
        if data.get("tags"):  # tags are stored lower-case
            data["tags"] = sorted({tag.lower() for tag in data["tags"]})
        return Segment(**{key: tuple(value) if isinstance(value, list) else value
                          for key, value in data.items()})


class CampaignVariantRequestSchema(Schema):
    template = fields.Str(required=True, validate=validate.Length(min=1, max=64),
                          metadata={"description": "A template's name"})
    variables = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=64)),
                            values=fields.Str(validate=VARIABLE), load_default=dict,
                            validate=validate.Length(max=20))


class CampaignCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    segment = fields.Nested(CampaignSegmentSchema, load_default=lambda: Segment())
    variants = fields.List(fields.Nested(CampaignVariantRequestSchema), required=True,
                           validate=validate.Length(min=1, max=MAX_VARIANTS), metadata={
                               "description": "One template, or two or more for an A/B test "
                                              "(customers split at random, equally)"})
    send_at = fields.AwareDateTime(load_default=None, metadata={
        "description": "When to start (ISO 8601 with an offset); omitted: now"})


class CampaignPreviewRequestSchema(CampaignCreateSchema):
    name = fields.Str(load_default=None, validate=validate.Length(min=1, max=120))


class CampaignVariantSchema(Schema):
    label = fields.Str()
    template = fields.Str()
    template_id = Id(allow_none=True)
    variables = fields.Dict(keys=fields.Str(), values=fields.Str())


class CampaignOutcomesSchema(Schema):
    pending = Count()
    planned = Count(metadata={"description": "Through the rules: queued or waiting to be sent"})
    refused = Count()
    cancelled = Count()


class CampaignSchema(Schema):
    id = Id()
    name = fields.Str()
    status = fields.Str(metadata={"description": " | ".join(CAMPAIGN_STATUSES)})
    segment = fields.Dict()
    send_at = UtcDateTime()
    variants = fields.List(fields.Nested(CampaignVariantSchema))
    recipients = Count()
    outcomes = fields.Nested(CampaignOutcomesSchema)
    error = fields.Str(allow_none=True)
    created_at = UtcDateTime()


CampaignPageSchema = page_schema(CampaignSchema, "CampaignPage")


class CampaignVariantReachSchema(Schema):
    label = fields.Str()
    template = fields.Str()
    reach = Count()


class CampaignDeferredSchema(Schema):
    quiet_hours = Count()
    daily_limit = Count(metadata={"description": "Past today's limit: sent on the next days"})


class CampaignPreviewSchema(Schema):
    matched = Count(metadata={"description": "Customers the segment matches, consent aside"})
    reach = Count(metadata={"description": "Customers it would be sent to"})
    refused = fields.Dict(keys=fields.Str(), values=Count(), metadata={
        "description": "Would be refused, by reason: no_consent, template_not_approved "
                       "(outside the 24-hour window), template_language_missing, monthly_limit"})
    deferred = fields.Nested(CampaignDeferredSchema)
    starts_at = UtcDateTime(metadata={"description": "After quiet hours, if they are on"})
    languages = fields.Dict(keys=fields.Str(), values=Count())
    variants = fields.List(fields.Nested(CampaignVariantReachSchema))
    note = fields.Str()


class CampaignVariantReportSchema(Schema):
    variant = fields.Str()
    template = fields.Str()
    recipients = Count()
    refused = Count()
    refused_by_reason = fields.Dict(keys=fields.Str(), values=Count())
    waiting = Count(metadata={"description": "Scheduled: quiet hours or a later day"})
    next_day = Count(metadata={"description": "Moved to a later day by the daily limit"})
    sent = Count()
    delivered = Count()
    read = Count()
    failed = Count()
    replied = Count(metadata={"description": "The customer wrote after the send"})
    converted = Count(metadata={"description": "An order or booking within 72 h of the send"})


class CampaignReportSchema(Schema):
    campaign_id = Id()
    status = fields.Str()
    recipients = Count()
    variants = fields.List(fields.Nested(CampaignVariantReportSchema))


class CustomerTagsSchema(Schema):
    tags = fields.List(TAG, required=True, validate=validate.Length(max=20))
