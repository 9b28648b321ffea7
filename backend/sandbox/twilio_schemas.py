"""Schemas of the Twilio simulator (Twilio's own field names) and of the sandbox message log."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from backend.api.fields import BoundedInt, Id, MAX_ID, UtcDateTime
from backend.sandbox.twilio import SandboxMessageView

TWILIO_API_VERSION = "2010-04-01"


class TwilioMessageFormSchema(Schema):
    """Form fields of Twilio's Create Message call; other fields are accepted and ignored."""

    class Meta:
        unknown = EXCLUDE

    From = fields.Str(load_default=None)
    To = fields.Str(load_default=None)
    Body = fields.Str(load_default=None)
    MediaUrl = fields.List(fields.Str(), load_default=list)
    StatusCallback = fields.Str(load_default=None)
    ContentSid = fields.Str(load_default=None)
    ContentVariables = fields.Str(load_default=None)


class ContentCreateSchema(Schema):
    """Twilio Content API: create a content (JSON)."""

    class Meta:
        unknown = EXCLUDE

    friendly_name = fields.Str(load_default=None)
    language = fields.Str(load_default=None)
    variables = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)
    types = fields.Dict(required=True)


class ApprovalRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.Str(required=True)
    category = fields.Str(required=True)


class ContentAnswerSchema(Schema):
    class Meta:
        unknown = "include"

    sid = fields.Str()
    status = fields.Str()
    whatsapp = fields.Dict()


class TwilioMessageSchema(Schema):
    """Twilio's Message resource, as the real API answers a create."""

    sid = fields.Str()
    account_sid = fields.Str()
    api_version = fields.Constant(TWILIO_API_VERSION)
    from_address = fields.Str(data_key="from")
    to_address = fields.Str(data_key="to")
    body = fields.Function(lambda m: m.body or "")
    status = fields.Constant("queued")
    direction = fields.Constant("outbound-api")
    num_media = fields.Function(lambda m: "1" if m.media_url else "0")
    num_segments = fields.Constant("1")
    date_created = fields.Method("_rfc2822")
    date_updated = fields.Method("_rfc2822")
    date_sent = fields.Constant(None)
    error_code = fields.Constant(None)
    error_message = fields.Constant(None)
    price = fields.Constant(None)
    price_unit = fields.Constant("USD")
    messaging_service_sid = fields.Constant(None)
    uri = fields.Method("_uri")
    subresource_uris = fields.Method("_subresources")

    def _rfc2822(self, message: SandboxMessageView) -> str:
        return format_datetime(message.created_at.replace(microsecond=0), usegmt=False)

    def _uri(self, message: SandboxMessageView) -> str:
        return f"/{TWILIO_API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}.json"

    def _subresources(self, message: SandboxMessageView) -> dict[str, Any]:
        base = f"/{TWILIO_API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}"
        return {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"}


class TwilioAccountSchema(Schema):
    """Twilio's Account resource (the auth_token field Twilio includes is left out: the simulator
    never echoes a secret)."""

    sid = fields.Str()
    friendly_name = fields.Str()
    status = fields.Constant("active")
    type = fields.Constant("Full")
    owner_account_sid = fields.Function(lambda account: account.sid)
    date_created = fields.Method("_rfc2822")
    date_updated = fields.Method("_rfc2822")
    uri = fields.Method("_uri")
    subresource_uris = fields.Method("_subresources")

    def _rfc2822(self, account: Any) -> str:
        return format_datetime(account.created_at.replace(microsecond=0), usegmt=False)

    def _uri(self, account: Any) -> str:
        return f"/2010-04-01/Accounts/{account.sid}.json"

    def _subresources(self, account: Any) -> dict[str, str]:
        base = f"/2010-04-01/Accounts/{account.sid}"
        return {"messages": f"{base}/Messages.json", "incoming_phone_numbers":
                f"{base}/IncomingPhoneNumbers.json"}


class TwilioErrorSchema(Schema):
    code = BoundedInt()
    message = fields.Str()
    more_info = fields.Str()
    status = BoundedInt()


class SandboxQuerySchema(Schema):
    to = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    after = BoundedInt(minimum=0, maximum=MAX_ID, load_default=None, validate=validate.Range(min=0))


class SandboxMessageSchema(Schema):
    id = Id()
    sid = fields.Str()
    tenant_id = fields.Str(
        allow_none=True, metadata={"description": "None: sent from the platform's own number"})
    from_address = fields.Str(data_key="from")
    to_address = fields.Str(data_key="to")
    body = fields.Str(allow_none=True)
    media_url = fields.Str(allow_none=True)
    content_sid = fields.Str(allow_none=True)
    interactive = fields.Dict(
        allow_none=True,
        metadata={"description": "A list picker or quick reply as shown: type, body, and its "
                  "items (item, id, description) or actions (title, id)"})
    created_at = UtcDateTime()


class SandboxMessagesSchema(Schema):
    results = fields.List(fields.Nested(SandboxMessageSchema))
