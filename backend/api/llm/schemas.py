"""Schemas of LLM classification, the call log and the month's usage."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Count, Id, Minor, UtcDateTime
from backend.api.pagination import page_schema
from backend.domain.intents import INTENTS
from backend.domain.knowledge import LANGUAGES


class ClassifyRequestSchema(Schema):
    tenant_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    text = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    language = fields.Str(load_default=None, allow_none=True,
                          validate=validate.OneOf((*LANGUAGES, "mixed")))


class LlmClassificationSchema(Schema):
    intent = fields.Str(validate=validate.OneOf(tuple(INTENTS)))
    confidence = fields.Float()
    model = fields.Str()


class LlmCallSchema(Schema):
    id = Id()
    purpose = fields.Str(metadata={"description": "faq_answer | classify"})
    model = fields.Str()
    tokens_in = Count()
    tokens_out = Count()
    cost_micros = Count(metadata={
        "description": "Estimated cost in millionths of the currency unit"})
    currency = fields.Str()
    latency_ms = Count()
    outcome = fields.Str(metadata={
        "description": "ok | timeout | error | malformed | unsupported"})
    detail = fields.Str()
    created_at = UtcDateTime()


LlmCallPageSchema = page_schema(LlmCallSchema, "LlmCallPage")


class LlmUsageSchema(Schema):
    month = fields.Str(metadata={"description": "YYYY-MM in the tenant's timezone"})
    calls = Count()
    cost_micros = Count()
    budget_minor = Minor()
    exhausted = fields.Bool()
    exhausted_action = fields.Str()
    configured = fields.Bool()
