"""Merchants' business-initiated messages and templates; Twilio's delivery status callbacks."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.outreach.schemas import (
    MessageQuerySchema,
    OutboundPageSchema,
    OutboundSchema,
    PreviewResultSchema,
    PreviewSchema,
    ScheduleSchema,
    SendResultSchema,
    SendSchema,
    StatusAckSchema,
    StatusCallbackSchema,
    TemplateCreateSchema,
    TemplatePageSchema,
    TemplatePatchSchema,
    TemplateSchema,
    MessageUsageSchema,
)
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.rate_limits import credential_failed
from backend.api.scopes import PUBLIC, requires
from backend.domain.errors import Unauthenticated
from backend.services.conversations import messaging, templates
from backend.services.conversations.status import StatusOutcome, record_status, verify_signature

blp = Blueprint("outreach", __name__, url_prefix="/v1/messages",
                description="Business-initiated messages: send, schedule, cancel, list, usage")
blp.before_request(require_tenant)
templates_blp = Blueprint("message_templates", __name__, url_prefix="/v1/message-templates",
                          description="WhatsApp message templates")
templates_blp.before_request(require_tenant)
status_blp = Blueprint("twilio_status", __name__, url_prefix="/webhooks/twilio",
                       description="Twilio delivery status callbacks")
REFUSED = ("Refused by the rules, nothing stored; `reason`: no_consent, outside_window, "
           "template_not_approved, template_language_missing, unknown_customer")
LIMIT = "The tier's monthly message limit is spent (nothing stored)"


def _send(payload: dict[str, Any]) -> messaging.SendResult:
    return messaging.send_message(context(), tenant_id(), messaging.SendRequest(**payload))


@blp.route("/send")
class Send(MethodView):
    @requires("campaigns:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(SendSchema)
    @blp.response(202, SendResultSchema)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    @blp.alt_response(403, schema=ErrorSchema, description=LIMIT)
    def post(self, payload: dict[str, Any]) -> messaging.SendResult:
        """Send a message to a customer now (it waits for quiet hours or a day with room)"""
        return _send(payload)


@blp.route("/schedule")
class Schedule(MethodView):
    @requires("campaigns:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ScheduleSchema)
    @blp.response(202, SendResultSchema)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    @blp.alt_response(403, schema=ErrorSchema, description=LIMIT)
    def post(self, payload: dict[str, Any]) -> messaging.SendResult:
        """Schedule a message; the scheduler sends it when due, after checking the rules again"""
        return _send(payload)


@blp.route("")
class Messages(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(MessageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, OutboundPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """Outbound messages, newest first (status=scheduled: what waits to be sent)"""
        return paginated(messaging.list_messages(context(), tenant_id(), **query))


@blp.route("/usage")
class Usage(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, MessageUsageSchema)
    def get(self) -> dict[str, Any]:
        """Messages today and this month against the tier's limits, and the warnings given"""
        return messaging.message_usage(context(), tenant_id())


@blp.route("/<int:message_id>")
class Message(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, OutboundSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such message for this tenant")
    def get(self, message_id: int) -> messaging.OutboundView:
        """One outbound message with its delivery status and Twilio error code"""
        return messaging.get_message(context(), tenant_id(), message_id)


@blp.route("/<int:message_id>/cancel")
class Cancel(MethodView):
    @requires("campaigns:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, OutboundSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such message for this tenant")
    @blp.alt_response(409, schema=ErrorSchema, description="Not scheduled (queued or sent)")
    def post(self, message_id: int) -> messaging.OutboundView:
        """Cancel a scheduled message"""
        return messaging.cancel_message(context(), tenant_id(), message_id)


@templates_blp.route("")
class Templates(MethodView):
    @requires("campaigns:read")
    @templates_blp.doc(security=TENANT_SECURITY)
    @templates_blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @templates_blp.response(200, TemplatePageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """Templates by name, with each language's approval and the usage count"""
        return paginated(templates.list_templates(context(), tenant_id(), **query))

    @requires("campaigns:write")
    @templates_blp.doc(security=TENANT_SECURITY)
    @templates_blp.arguments(TemplateCreateSchema)
    @templates_blp.response(201, TemplateSchema)
    @templates_blp.alt_response(400, schema=ErrorSchema, description="Unknown placeholder, name used")
    def post(self, data: dict[str, Any]) -> templates.TemplateView:
        """Create a template; each language variant is submitted for WhatsApp approval"""
        return templates.create_template(context(), tenant_id(), data)


@templates_blp.route("/<int:template_id>")
class TemplateById(MethodView):
    @requires("campaigns:read")
    @templates_blp.doc(security=TENANT_SECURITY)
    @templates_blp.response(200, TemplateSchema)
    @templates_blp.alt_response(404, schema=ErrorSchema, description="No such template")
    def get(self, template_id: int) -> templates.TemplateView:
        """One template"""
        return templates.get_template(context(), tenant_id(), template_id)

    @requires("campaigns:write")
    @templates_blp.doc(security=TENANT_SECURITY)
    @templates_blp.arguments(TemplatePatchSchema)
    @templates_blp.response(200, TemplateSchema)
    @templates_blp.alt_response(404, schema=ErrorSchema, description="No such template")
    def patch(self, changes: dict[str, Any], template_id: int) -> templates.TemplateView:
        """Change a template; a changed text is submitted for approval again"""
        return templates.update_template(context(), tenant_id(), template_id, changes)

    @requires("campaigns:write")
    @templates_blp.doc(security=TENANT_SECURITY)
    @templates_blp.response(204)
    @templates_blp.alt_response(404, schema=ErrorSchema, description="No such template")
    def delete(self, template_id: int) -> None:
        """Delete a template (messages already scheduled with it are cancelled when due)"""
        templates.delete_template(context(), tenant_id(), template_id)


@templates_blp.route("/<int:template_id>/preview")
class Preview(MethodView):
    @requires("campaigns:read")
    @templates_blp.doc(security=TENANT_SECURITY)
    @templates_blp.arguments(PreviewSchema)
    @templates_blp.response(200, PreviewResultSchema)
    @templates_blp.alt_response(400, schema=ErrorSchema, description="Unknown or missing variables")
    @templates_blp.alt_response(422, schema=ErrorSchema, description="No variant in that language")
    def post(self, payload: dict[str, Any], template_id: int) -> dict[str, Any]:
        """The text a customer would read, with the given (or the sample) values"""
        return templates.preview(context(), tenant_id(), template_id, payload["language"],
                                 payload["variables"])


@status_blp.route("/status/<string:tenant>/<int:message_id>")
class StatusCallback(MethodView):
    @requires(PUBLIC)
    @status_blp.doc(security=[], parameters=[{
        "in": "header", "name": "X-Twilio-Signature", "required": True,
        "schema": {"type": "string", "maxLength": 64}}])
    @requires(PUBLIC)
    @status_blp.arguments(StatusCallbackSchema, location="form")
    @status_blp.response(200, StatusAckSchema)
    @status_blp.alt_response(401, schema=ErrorSchema, description="Bad X-Twilio-Signature")
    @status_blp.alt_response(404, schema=ErrorSchema, description="Unknown message")
    def post(self, form: dict[str, Any], tenant: str, message_id: int) -> StatusOutcome:
        """A Twilio delivery status (signed); stored once, applied only forward"""
        ctx = context()
        params = {key: value for key, value in request.form.items()}
        url = ctx.settings.public_url + request.full_path.rstrip("?")
        try:
            verify_signature(ctx, tenant, url, params,
                             request.headers.get("X-Twilio-Signature", ""))
        except Unauthenticated:
            credential_failed()
            raise
        return record_status(ctx, tenant, message_id, params)
