"""A conversation's messages, both directions in order, for merchants and the service."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.conversations.schemas import (
    ConversationMessagePageSchema,
    ConversationPatchSchema,
)
from backend.api.customers.schemas import ConversationSchema
from backend.api.pagination import PageQuerySchema, paginated
from backend.services.conversations import (
    ConversationView,
    conversation_messages,
    update_conversation,
)

blp = Blueprint(
    "conversations", __name__, url_prefix="/v1/conversations", description="Conversations"
)
blp.before_request(require_tenant)
NOT_FOUND = "No such conversation for this tenant"


@blp.route("/<int:conversation_id>")
class ConversationById(MethodView):
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ConversationPatchSchema)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="A closed conversation cannot reopen")
    def patch(self, changes: dict[str, Any], conversation_id: int) -> ConversationView:
        """Flag a conversation for a person (needs_human), or close it"""
        return update_conversation(context(), tenant_id(), conversation_id, changes)


@blp.route("/<int:conversation_id>/messages")
class ConversationMessages(MethodView):
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ConversationMessagePageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def get(self, conversation_id: int, **query: Any) -> dict[str, Any]:
        """Inbound and outbound messages of a conversation, in the order they happened"""
        return paginated(conversation_messages(context(), tenant_id(), conversation_id, **query))
