"""Schemas of customers, their preferences, consent events and conversations."""

from marshmallow import Schema, fields, validate

from backend.api.fields import Id, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.interface import inputs
from backend.models import CONSENT_KINDS

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
PreferencesPatchSchema = inputs.PreferencesPatchSchema


class CustomerQuerySchema(PageQuerySchema):
    consent = fields.Str(
        load_default=None,
        validate=validate.OneOf(CONSENT_KINDS),
        metadata={"description": "Keep customers by this consent (see consented)"},
    )
    consented = fields.Bool(
        load_default=True,
        metadata={"description": "With consent: true keeps opted-in customers, false opted-out"},
    )


class PreferencesSchema(Schema):
    language = fields.Str(allow_none=True, metadata={"description": "null: the tenant's language"})
    transactional = fields.Bool(metadata={"description": "Order and booking updates"})
    reminders = fields.Bool(metadata={"description": "Appointment and payment reminders"})
    promotional = fields.Bool(metadata={"description": "Offers and campaigns"})



class CustomerSchema(Schema):
    id = Id()
    phone = fields.Str(metadata={"description": "E.164 (stored encrypted)"})
    profile_name = fields.Str(allow_none=True)
    language = fields.Str(allow_none=True)
    preferences = fields.Nested(PreferencesSchema)
    created_at = UtcDateTime()
    dormant_at = UtcDateTime(allow_none=True, metadata={
        "description": "Set when the customer had been silent for 14 days (no re-engagement "
                       "nudge since); null again once they write"})


class ConsentEventSchema(Schema):
    id = Id()
    customer_id = Id()
    kind = fields.Str(metadata={"description": " | ".join(CONSENT_KINDS)})
    old_value = fields.Bool()
    new_value = fields.Bool()
    actor = fields.Str(metadata={"description": "merchant:api_key:<id>, service, customer, seed"})
    channel = fields.Str(metadata={"description": "merchant_api, whatsapp, seed"})
    created_at = UtcDateTime()


class ConversationSchema(Schema):
    id = Id()
    customer_id = Id()
    status = fields.Str(metadata={"description": "open | closed"})
    needs_human = fields.Bool()
    started_at = UtcDateTime()
    last_inbound_at = UtcDateTime(allow_none=True)
    last_message_at = UtcDateTime()


CustomerPageSchema = page_schema(CustomerSchema, "CustomerPage")
ConsentEventPageSchema = page_schema(ConsentEventSchema, "ConsentEventPage")
ConversationPageSchema = page_schema(ConversationSchema, "ConversationPage")
