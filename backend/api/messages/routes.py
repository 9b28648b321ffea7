"""The channel's message log: inbound messages in, outbound replies queued for delivery."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_service
from backend.api.common import SERVICE_SECURITY, ErrorSchema, context
from backend.api.messages.schemas import (
    InboundMessageSchema,
    InboundResultSchema,
    OutboundRequestSchema,
    OutboundResultSchema,
)
from backend.api.scopes import SERVICE, requires
from backend.services.conversations.inbound import InboundResult, IncomingMessage, record_inbound
from backend.services.conversations.outbound import OutgoingMessage, queue_outbound

blp = Blueprint(
    "messages", __name__, url_prefix="/internal/v1/messages", description="Messages (service)"
)
blp.before_request(require_service)


@blp.route("/inbound")
class Inbound(MethodView):
    @requires(SERVICE)
    @blp.doc(security=SERVICE_SECURITY)
    @blp.arguments(InboundMessageSchema)
    @blp.response(201, InboundResultSchema)
    @blp.alt_response(200, schema=InboundResultSchema, description="Repeated message_sid")
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def post(self, payload: dict[str, Any]) -> tuple[InboundResult, int]:
        """Log an inbound WhatsApp message once and upsert its customer"""
        result = record_inbound(
            context(),
            IncomingMessage(
                tenant_id=payload["tenant_id"],
                from_number=payload["from_number"],
                message_sid=payload["message_sid"],
                body=payload["body"] or "",
                profile_name=payload["profile_name"],
                media=payload["media"] or [],
            ),
        )
        return result, 200 if result.duplicate else 201


@blp.route("/outbound")
class Outbound(MethodView):
    @requires(SERVICE)
    @blp.doc(security=SERVICE_SECURITY)
    @blp.arguments(OutboundRequestSchema)
    @blp.response(202, OutboundResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="Monthly message limit of the tier spent (replies within 24 h of the "
        "customer's last message are always sent)",
    )
    @requires(SERVICE)
    @blp.alt_response(503, schema=ErrorSchema, description="Delivery queue unavailable")
    def post(self, payload: dict[str, Any]) -> dict[str, list[int]]:
        """Store reply messages and enqueue one delivery job that sends them in order"""
        ids = queue_outbound(
            context(),
            tenant_id=payload["tenant_id"],
            to=payload["to"],
            messages=[OutgoingMessage(**message) for message in payload["messages"]],
            in_reply_to=payload["in_reply_to"],
        )
        return {"ids": ids}
