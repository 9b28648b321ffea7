"""The handoff inbox: conversations the assistant handed to a person (oldest first), the
transcript, replying as the shop inside WhatsApp's 24-hour window (the API's reply service),
and handing the conversation back to the assistant (Rasa resumes it, as through the API)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, request

from backend.interface.inputs import ReplySchema
from backend.interface.scopes import requires
from backend.providers.rasa import RasaClient
from backend.services.conversations.conversations import (
    REPLY_WINDOW,
    conversation_messages,
    get_tenant_conversation,
    list_tenant_conversations,
)
from backend.services.conversations.handoff import (
    AssistantUnreachable,
    resume_conversation,
    send_reply,
)
from backend.web.core import (
    PageError,
    blp,
    context,
    done,
    page,
    page_args,
    tenant_id,
    validated,
    viewer,
)

PAGE_SIZE = 25
TRANSCRIPT = 50  # the latest messages shown


@blp.get("/inbox")
@requires("conversations:read")
def inbox() -> Response:
    waiting = list_tenant_conversations(context(), tenant_id(), needs_human=True,
                                        page=page_args(), page_size=PAGE_SIZE)
    return page("inbox.html", waiting=waiting, pages=max(1, -(-waiting.count // PAGE_SIZE)))


@blp.get("/inbox/<int:conversation_id>")
@requires("conversations:read")
def conversation(conversation_id: int) -> Response:
    found = get_tenant_conversation(context(), tenant_id(), conversation_id)
    first = conversation_messages(context(), tenant_id(), conversation_id, page=1,
                                  page_size=TRANSCRIPT)
    last_page = max(1, -(-first.count // TRANSCRIPT))
    messages = first if last_page == 1 else conversation_messages(
        context(), tenant_id(), conversation_id, page=last_page, page_size=TRANSCRIPT)
    in_window = found.status == "open" and found.last_inbound_at is not None and (
        datetime.now(UTC) - found.last_inbound_at < REPLY_WINDOW)
    return page("conversation.html", conversation=found, messages=messages.results,
                in_window=in_window)


@blp.post("/inbox/<int:conversation_id>/reply")
@requires("conversations:reply")
def reply(conversation_id: int) -> Response:
    body = validated(ReplySchema(), {"body": request.form.get("body", "")})
    send_reply(context(), tenant_id(), conversation_id, body["body"])
    return done("web.conversation", "inbox.sent", conversation_id=conversation_id)


@blp.post("/inbox/<int:conversation_id>/resume")
@requires("conversations:reply")
def hand_back(conversation_id: int) -> Response:
    rasa = RasaClient.from_settings(context().settings)
    try:
        resume_conversation(context(), tenant_id(), conversation_id, rasa, viewer().actor)
    except AssistantUnreachable as error:
        raise PageError(502, "inbox.unreachable") from error
    return done("web.inbox", "inbox.handed_back")
