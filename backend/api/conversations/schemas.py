"""Schemas of a conversation's messages."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import Id, UtcDateTime
from backend.api.pagination import PageQuerySchema, page_schema
from backend.interface import inputs

# Shared with the web app (backend/interface/inputs.py), re-exported under the API's names.
ReplySchema = inputs.ReplySchema


class MessageMediaSchema(Schema):
    url = fields.Str()
    content_type = fields.Str(allow_none=True)


class ConversationMessageSchema(Schema):
    id = Id(metadata={"description": "Id within its direction's log"})
    direction = fields.Str(metadata={"description": "inbound | outbound"})
    type = fields.Str(metadata={"description": "text | media"})
    body = fields.Str(allow_none=True)
    media = fields.List(fields.Nested(MessageMediaSchema))
    provider_sid = fields.Str(allow_none=True, metadata={"description": "Twilio MessageSid"})
    status = fields.Str(metadata={"description": "received (inbound); queued | sent | failed"})
    in_reply_to = fields.Str(allow_none=True)
    created_at = UtcDateTime()


ConversationMessagePageSchema = page_schema(ConversationMessageSchema, "ConversationMessagePage")


class ConversationPatchSchema(Schema):
    needs_human = fields.Bool(metadata={"description": "Waiting for a person to take over"})
    status = fields.Str(validate=validate.OneOf(("open", "closed")))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Send needs_human or status.")


class ConversationListQuerySchema(PageQuerySchema):
    needs_human = fields.Bool(
        load_default=None,
        metadata={"description": "true: waiting for a person, oldest handoff first"},
    )
    status = fields.Str(load_default="open", validate=validate.OneOf(("open", "closed")))


class LastMessageSchema(Schema):
    direction = fields.Str(metadata={"description": "inbound | outbound"})
    body = fields.Str(allow_none=True)
    created_at = UtcDateTime()


class HandoffSchema(Schema):
    reason = fields.Str(metadata={"description": "requested | fallback | llm_budget | merchant"})
    requested_by = fields.Str(metadata={"description": "assistant, service, merchant:api_key:<id>"})
    requested_at = UtcDateTime()
    last_message = fields.Str(allow_none=True,
                              metadata={"description": "What the customer said last"})


class ConversationListItemSchema(Schema):
    id = Id()
    customer_id = Id()
    customer_phone = fields.Str(metadata={"description": "E.164"})
    profile_name = fields.Str(allow_none=True)
    status = fields.Str(metadata={"description": "open | closed"})
    needs_human = fields.Bool()
    started_at = UtcDateTime()
    last_inbound_at = UtcDateTime(allow_none=True)
    last_message_at = UtcDateTime()
    last_message = fields.Nested(LastMessageSchema, allow_none=True)
    handoff = fields.Nested(HandoffSchema, allow_none=True,
                            metadata={"description": "The open handoff, if a person has it"})


ConversationListPageSchema = page_schema(ConversationListItemSchema, "ConversationListPage")


class ReplyResultSchema(Schema):
    ids = fields.List(Id(), metadata={"description": "Outbound message ids, in order"})


class HandoffRequestSchema(Schema):
    tenant_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    customer_ref = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(max=32),
        metadata={"description": "The customer's reference (from Rasa's sender id); or phone"})
    phone = fields.Str(load_default=None, allow_none=True,
                       metadata={"description": "Customer's E.164, +2547… (without customer_ref)"})
    sender_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=128),
                           metadata={"description": "Rasa's sender id, <tenant>:<customer_ref>"})
    reason = fields.Str(required=True,
                        validate=validate.OneOf(("requested", "fallback", "llm_budget")))
    last_message = fields.Str(load_default=None, allow_none=True,
                              validate=validate.Length(max=4096))


class HandoffResultSchema(Schema):
    conversation_id = Id()
    needs_human = fields.Bool()
