"""Human handoff: the assistant passes a conversation to a person, the merchant answers in it,
and gives it back to the assistant (which Rasa must hear about: the conversation is paused there).

Rasa knows a conversation by its sender id, "<tenant>:<customer ref>" (the WhatsApp channel's): an
opaque reference, so Rasa's tracker holds no phone; the phone is decrypted only to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from kit.sender import sender_id
from pii.masking import mask_phones

from backend.context import Context
from backend.domain.errors import Conflict, DomainError, InvalidInput
from backend.domain.phones import to_e164
from backend.models import Conversation, Customer
from backend.providers.rasa import RasaClient, RasaError
from backend.services.conversations import (
    ConversationView,
    conversation_view,
    current_conversation,
    flag_for_person,
    hand_back,
    in_reply_window,
)
from backend.services.customers import customer_by_ref, upsert_customer
from backend.services.outbound import OutgoingMessage, queue_outbound
from backend.services.scoped import tenant_row
from backend.services.tenants import require_tenant

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
