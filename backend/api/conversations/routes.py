"""A conversation's messages, both directions in order, for merchants and the service."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import BadGateway

from backend.api.auth import require_service, require_tenant
from backend.api.common import (
    SERVICE_SECURITY,
    TENANT_SECURITY,
    ErrorSchema,
    context,
    principal,
    tenant_id,
)
from backend.api.conversations.schemas import (
    ConversationListPageSchema,
    ConversationListQuerySchema,
    ConversationMessagePageSchema,
    ConversationPatchSchema,
    HandoffRequestSchema,
    HandoffResultSchema,
    ReplyResultSchema,
    ReplySchema,
)
from backend.api.customers.schemas import ConversationSchema
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.scopes import SERVICE, requires
from backend.providers.rasa import RasaClient
from backend.services.conversations.conversations import (
    ConversationView,
    conversation_messages,
    list_tenant_conversations,
)
from backend.services.conversations.handoff import (
    AssistantUnreachable,
    HandoffRequest,
    HandoffResult,
    request_handoff,
    resume_conversation,
    send_reply,
    update_conversation,
)

blp = Blueprint(
    "conversations", __name__, url_prefix="/v1/conversations", description="Conversations"
)
blp.before_request(require_tenant)
handoff_blp = Blueprint(
    "conversations_internal",
    __name__,
    url_prefix="/internal/v1/conversations",
    description="Conversations (service)",
)
handoff_blp.before_request(require_service)
NOT_FOUND = "No such conversation for this tenant"


def _actor() -> str:
    """Who acts, for the handoff record: the service or one merchant API key."""
    caller = principal()
    return "service" if caller.is_service else f"merchant:api_key:{caller.api_key_id}"


@blp.route("")
class Conversations(MethodView):
    @requires("conversations:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ConversationListQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ConversationListPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """Conversations with the customer's phone and latest message; needs_human=true lists
        those waiting for a person, oldest handoff first"""
        return paginated(list_tenant_conversations(context(), tenant_id(), **query))


@blp.route("/<int:conversation_id>")
class ConversationById(MethodView):
    @requires("conversations:reply")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ConversationPatchSchema)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="A closed conversation cannot reopen")
    def patch(self, changes: dict[str, Any], conversation_id: int) -> ConversationView:
        """Flag a conversation for a person (needs_human), or close it"""
        return update_conversation(context(), tenant_id(), conversation_id, changes, _actor())


@blp.route("/<int:conversation_id>/resume")
class ResumeConversation(MethodView):
    @requires("conversations:reply")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(
        502, schema=ErrorSchema,
        description="The assistant (Rasa) could not be reached; needs_human is unchanged",
    )
    def post(self, conversation_id: int) -> ConversationView:
        """Give the conversation back to the assistant: Rasa resumes it, needs_human clears"""
        rasa = RasaClient.from_settings(context().settings)
        try:
            return resume_conversation(context(), tenant_id(), conversation_id, rasa, _actor())
        except AssistantUnreachable as error:
            raise BadGateway(description=error.description) from error


@blp.route("/<int:conversation_id>/replies")
class ConversationReplies(MethodView):
    @requires("conversations:reply")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ReplySchema)
    @blp.response(202, ReplyResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(
        409, schema=ErrorSchema,
        description="The customer last wrote more than 24 h ago (WhatsApp's reply window)",
    )
    @requires("conversations:reply")
    @blp.alt_response(503, schema=ErrorSchema, description="Delivery queue unavailable")
    def post(self, payload: dict[str, Any], conversation_id: int) -> dict[str, list[int]]:
        """Send the merchant's own message to the customer (within 24 h of their last message)"""
        return {"ids": send_reply(context(), tenant_id(), conversation_id, payload["body"])}


@handoff_blp.route("/handoff")
class Handoff(MethodView):
    @requires(SERVICE)
    @handoff_blp.doc(security=SERVICE_SECURITY)
    @handoff_blp.arguments(HandoffRequestSchema)
    @handoff_blp.response(200, HandoffResultSchema)
    @handoff_blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant or customer_ref")
    @handoff_blp.alt_response(400, schema=ErrorSchema, description="Invalid phone or sender_id")
    def post(self, payload: dict[str, Any]) -> HandoffResult:
        """Pass the customer's current conversation to a person (opened if there is none)"""
        return request_handoff(context(), HandoffRequest(
            tenant_id=payload["tenant_id"],
            phone=payload["phone"],
            reason=payload["reason"],
            last_message=payload["last_message"],
            sender_id=payload["sender_id"],
            customer_ref=payload["customer_ref"],
        ))


@blp.route("/<int:conversation_id>/messages")
class ConversationMessages(MethodView):
    @requires("conversations:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ConversationMessagePageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def get(self, conversation_id: int, **query: Any) -> dict[str, Any]:
        """Inbound and outbound messages of a conversation, in the order they happened"""
        return paginated(conversation_messages(context(), tenant_id(), conversation_id, **query))
