"""Human handoff: the assistant passes a conversation to a person, the merchant answers in it,
and gives it back to the assistant (which Rasa must hear about: the conversation is paused there).

Rasa knows a conversation by its sender id, "<tenant>:<customer ref>" (the WhatsApp channel's): an
opaque reference, so Rasa's tracker holds no phone; the phone is decrypted only to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.sender import sender_id
from pii.masking import mask_phones

from backend.wiring import Context
from backend.domain.errors import Conflict, DomainError, InvalidInput
from backend.domain.phones import to_e164
from backend.models import Conversation, ConversationHandoff, Customer
from backend.providers.rasa import RasaClient, RasaError
from backend.services.conversations.conversations import (
    ConversationView,
    conversation_view,
    current_conversation,
    in_reply_window,
)
from backend.services.platform.customers import customer_by_ref, upsert_customer
from backend.services.conversations.outbound import OutgoingMessage, queue_outbound
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

ASSISTANT = "assistant"
REPLY_MAX_CHARS = 1600  # Twilio's limit for one WhatsApp message body


class AssistantUnreachable(DomainError):
    """Rasa could not be told to take the conversation back; nothing changed here."""


@dataclass(frozen=True)
class HandoffRequest:
    tenant_id: str
    phone: str | None  # E.164, or None with customer_ref
    reason: str  # requested | fallback | llm_budget
    last_message: str | None = None
    sender_id: str | None = None
    customer_ref: str | None = None


@dataclass(frozen=True)
class HandoffResult:
    conversation_id: int
    needs_human: bool
    handoff_id: int


def update_conversation(
    ctx: Context,
    tenant_id: str,
    conversation_id: int,
    changes: dict[str, Any],
    actor: str = "service",
) -> ConversationView:
    """Flag a conversation for a person (needs_human) or close it; reopening is refused
    (the next message after a closed conversation starts a new one). The flag only records
    who has the conversation; giving it back to the assistant is resume_conversation, below."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        conversation = tenant_row(session, Conversation, conversation_id, tenant_id, "conversation")
        if changes.get("status") == "open" and conversation.status == "closed":
            raise Conflict("A closed conversation cannot be reopened; the next message opens one")
        if "status" in changes:
            conversation.status = changes["status"]
        if "needs_human" in changes:
            if changes["needs_human"]:
                flag_for_person(session, conversation, "merchant", actor)
            else:
                hand_back(session, conversation, actor)
        session.flush()
        return conversation_view(conversation)


def open_handoff(session: Session, conversation: Conversation) -> ConversationHandoff | None:
    """The conversation's handoff still waiting for the assistant to take over again."""
    return session.scalar(
        select(ConversationHandoff)
        .where(
            ConversationHandoff.tenant_id == conversation.tenant_id,
            ConversationHandoff.conversation_id == conversation.id,
            ConversationHandoff.resumed_at.is_(None),
        )
        .order_by(ConversationHandoff.requested_at, ConversationHandoff.id)
        .limit(1)
    )


def flag_for_person(
    session: Session,
    conversation: Conversation,
    reason: str,
    requested_by: str,
    last_message: str | None = None,
    now: datetime | None = None,
) -> ConversationHandoff:
    """needs_human, with a handoff record (who, when, why); an open one is kept, not repeated."""
    conversation.needs_human = True
    handoff = open_handoff(session, conversation)
    if handoff is None:
        handoff = ConversationHandoff(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            reason=reason,
            last_message=last_message,
            requested_by=requested_by,
            requested_at=now or datetime.now(UTC),
        )
        session.add(handoff)
    elif last_message:
        handoff.last_message = last_message
    session.flush()
    return handoff


def hand_back(
    session: Session, conversation: Conversation, resumed_by: str, now: datetime | None = None
) -> None:
    """needs_human off; every open handoff of the conversation records who ended it and when."""
    conversation.needs_human = False
    moment = now or datetime.now(UTC)
    for handoff in session.scalars(
        select(ConversationHandoff).where(
            ConversationHandoff.tenant_id == conversation.tenant_id,
            ConversationHandoff.conversation_id == conversation.id,
            ConversationHandoff.resumed_at.is_(None),
        )
    ):
        handoff.resumed_at = moment
        handoff.resumed_by = resumed_by
    session.flush()


def _requested_customer(ctx: Context, session: Session, request: HandoffRequest) -> Customer:
    if request.customer_ref:
        return customer_by_ref(session, request.tenant_id, request.customer_ref)
    if not request.phone:
        raise InvalidInput("customer_ref or phone is required",
                           {"customer_ref": ["customer_ref or phone is required."]})
    phone = to_e164(request.phone, field="phone")
    return upsert_customer(session, ctx.crypto, request.tenant_id, phone, None)


def request_handoff(ctx: Context, request: HandoffRequest) -> HandoffResult:
    """Mark the customer's current conversation (opened if none) as needing a person."""
    with ctx.db.transaction() as session:
        require_tenant(session, request.tenant_id)
        customer = _requested_customer(ctx, session, request)
        expected = sender_id(request.tenant_id, customer.ref)
        if request.sender_id is not None and request.sender_id != expected:
            raise InvalidInput(
                "sender_id does not match tenant_id and the customer "
                "(expected <tenant_id>:<customer_ref>)",
                {"sender_id": ["Does not match tenant_id and the customer."]},
            )
        conversation = current_conversation(session, customer, inbound=False)
        handoff = flag_for_person(session, conversation, request.reason, ASSISTANT,
                                  mask_phones(request.last_message or "") or None)
        return HandoffResult(conversation.id, conversation.needs_human, handoff.id)


def _customer_ref(ctx: Context, tenant_id: str, conversation_id: int) -> str:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        conversation = tenant_row(session, Conversation, conversation_id, tenant_id, "conversation")
        customer = tenant_row(session, Customer, conversation.customer_id, tenant_id, "customer")
        return customer.ref


def resume_conversation(
    ctx: Context, tenant_id: str, conversation_id: int, rasa: RasaClient, resumed_by: str
) -> ConversationView:
    """Tell Rasa to continue the paused conversation, then clear needs_human.

    Rasa first: when it cannot be reached the conversation stays with the person
    (AssistantUnreachable, needs_human unchanged)."""
    ref = _customer_ref(ctx, tenant_id, conversation_id)
    try:
        rasa.resume(sender_id(tenant_id, ref))
    except RasaError as error:
        raise AssistantUnreachable(
            "The assistant could not be reached to resume the conversation; it stays with a "
            f"person (needs_human unchanged). {error}"
        ) from error
    with ctx.db.transaction() as session:
        conversation = tenant_row(session, Conversation, conversation_id, tenant_id, "conversation")
        hand_back(session, conversation, resumed_by)
        return conversation_view(conversation)


def send_reply(ctx: Context, tenant_id: str, conversation_id: int, body: str) -> list[int]:
    """Queue the merchant's own message to the customer of the conversation.

    WhatsApp allows free-form messages only within 24 h of the customer's last message."""
    text = body.strip()
    if not text or len(text) > REPLY_MAX_CHARS:
        raise InvalidInput(f"body must be 1 to {REPLY_MAX_CHARS} characters",
                           {"body": [f"Length must be between 1 and {REPLY_MAX_CHARS}."]})
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        conversation = tenant_row(session, Conversation, conversation_id, tenant_id, "conversation")
        if conversation.status != "open" or not in_reply_window(conversation):
            raise Conflict(
                "The customer last wrote more than 24 hours ago (or this conversation is closed): "
                "WhatsApp only allows free-form replies within 24 hours of the customer's last "
                "message; wait for the customer to write again or send an approved template."
            )
        customer = tenant_row(session, Customer, conversation.customer_id, tenant_id, "customer")
        phone = ctx.crypto.decrypt(customer.phone_encrypted)
    return queue_outbound(ctx, tenant_id, phone, [OutgoingMessage(body=text)])
