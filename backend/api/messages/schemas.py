"""Schemas of the inbound log and outbound replies."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import Id
from backend.interface.inputs import TWILIO_BODY_MAX

# Twilio delivers WhatsApp bodies of up to 4,096 characters; the channel cuts longer ones to that
# before logging them, and this log refuses longer bodies (422) rather than store them unbounded.
INBOUND_BODY_MAX = 4096


class MediaSchema(Schema):
    url = fields.Str(required=True, validate=validate.Length(min=1, max=2048))
    content_type = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=255))


class InboundMessageSchema(Schema):
    tenant_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    from_number = fields.Str(
        required=True, data_key="from", metadata={"description": "E.164, e.g. +254712345678"}
    )
    profile_name = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    message_sid = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    body = fields.Str(
        load_default="", allow_none=True, validate=validate.Length(max=INBOUND_BODY_MAX)
    )
    media = fields.List(
        fields.Nested(MediaSchema), load_default=list, allow_none=True,
        validate=validate.Length(max=10),
    )


class InboundResultSchema(Schema):
    customer_id = Id()
    duplicate = fields.Bool()
    customer_ref = fields.Str(
        metadata={"description": "The customer's opaque reference: Rasa's sender id is "
                  "<tenant>:<customer_ref>, and the actions send it as X-CUSTOMER-REF"})


class InteractiveItemSchema(Schema):
    id = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=24))
    description = fields.Str(validate=validate.Length(min=1, max=72))


class InteractiveSchema(Schema):
    """A menu as a list picker (1-10 rows) or a yes/no question as reply buttons (≤ 3), within
    Twilio's Content API limits (kit/interactive.py builds it, the channel signs the ids)."""

    type = fields.Str(required=True, validate=validate.OneOf(("list", "buttons")))
    language = fields.Str(required=True, validate=validate.OneOf(("en", "sw", "sheng")))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=1024))
    button = fields.Str(validate=validate.Length(min=1, max=20))
    items = fields.List(fields.Nested(InteractiveItemSchema), required=True,
                        validate=validate.Length(min=1, max=10))

    @validates_schema
    def _fits_its_type(self, data: dict[str, Any], **_: Any) -> None:
        items = data.get("items") or []
        if data.get("type") == "list":
            if not data.get("button"):
                raise ValidationError("A list needs its button.", "button")
            if any("description" not in item for item in items):
                raise ValidationError("Every list row needs a description.", "items")
        elif len(items) > 3 or any(len(item["title"]) > 20 for item in items):
            raise ValidationError("At most 3 buttons of at most 20 characters.", "items")


class OutgoingMessageSchema(Schema):
    body = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(max=TWILIO_BODY_MAX)
    )
    media_url = fields.URL(load_default=None, allow_none=True, require_tld=False)
    interactive = fields.Nested(
        InteractiveSchema, load_default=None, allow_none=True,
        metadata={"description": "The same message as a list picker or reply buttons, sent "
                  "instead of the body where the tenant allows it and the window is open"})

    @validates_schema
    def _has_content(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("body") and not data.get("media_url"):
            raise ValidationError("A message needs a body or a media_url.")
        if data.get("interactive") and not data.get("body"):
            raise ValidationError("An interactive message needs its text as the body.", "body")


class OutboundRequestSchema(Schema):
    tenant_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    to = fields.Str(required=True, metadata={"description": "E.164, e.g. +254712345678"})
    in_reply_to = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    messages = fields.List(
        fields.Nested(OutgoingMessageSchema), required=True, validate=validate.Length(min=1, max=10)
    )


class OutboundResultSchema(Schema):
    ids = fields.List(Id())
