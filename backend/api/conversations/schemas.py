"""Schemas of a conversation's messages."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.api.fields import UtcDateTime
from backend.api.pagination import page_schema


class MessageMediaSchema(Schema):
    url = fields.Str()
    content_type = fields.Str(allow_none=True)


class ConversationMessageSchema(Schema):
    id = fields.Int(metadata={"description": "Id within its direction's log"})
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
