"""Conversations: attaching each message to the customer's current one, and reading them back.

A conversation lasts while messages keep flowing; after 24 h without a message either way,
the next message (inbound or outbound) closes it and starts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.models import (
    Conversation,
    ConversationHandoff,
    Customer,
    InboundMessage,
    OutboundMessage,
)
from backend.security import Crypto
from backend.services.platform.pages import Page, check_page, fetch_page
from backend.services.platform.scoped import tenant_row
from backend.services.platform.tenants import require_tenant

SILENCE = timedelta(hours=24)
# WhatsApp's customer-service window: replies within it are answers, not new outreach.
REPLY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class ConversationView:
    id: int
    customer_id: int
    status: str
    needs_human: bool
    started_at: datetime
    last_inbound_at: datetime | None
    last_message_at: datetime


@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str  # "inbound" | "outbound"
    type: str  # "text" | "media"
    body: str | None
    media: list[dict[str, Any]]
    provider_sid: str | None
    status: str  # inbound: "received"; outbound: queued | sent | failed
    in_reply_to: str | None
    created_at: datetime


def current_conversation(
    session: Session, customer: Customer, inbound: bool, now: datetime | None = None
) -> Conversation:
    """The customer's live conversation (a new one after 24 h of silence), touched by a message."""
    now = now or datetime.now(UTC)
    latest = session.scalar(
        select(Conversation)
        .where(Conversation.tenant_id == customer.tenant_id, Conversation.customer_id == customer.id)
        .order_by(Conversation.started_at.desc(), Conversation.id.desc())
        .limit(1)
        .with_for_update()
    )
    if latest is None or latest.status != "open" or now - latest.last_message_at >= SILENCE:
        if latest is not None:
            latest.status = "closed"
        latest = Conversation(
            tenant_id=customer.tenant_id,
            customer_id=customer.id,
            status="open",
            needs_human=False,
            started_at=now,
            last_message_at=now,
        )
        session.add(latest)
    latest.last_message_at = max(latest.last_message_at, now)
    if inbound:
        latest.last_inbound_at = now
        customer.dormant_at = None  # they wrote: no longer dormant (re-engagement)
    session.flush()
    return latest


def in_reply_window(conversation: Conversation | None, now: datetime | None = None) -> bool:
    """Whether the customer wrote within the last 24 h (so a message now answers them)."""
    if conversation is None or conversation.last_inbound_at is None:
        return False
    return (now or datetime.now(UTC)) - conversation.last_inbound_at < REPLY_WINDOW


def _view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        customer_id=conversation.customer_id,
        status=conversation.status,
        needs_human=conversation.needs_human,
        started_at=conversation.started_at,
        last_inbound_at=conversation.last_inbound_at,
        last_message_at=conversation.last_message_at,
    )


def conversation_view(conversation: Conversation) -> ConversationView:
    return _view(conversation)


def list_conversations(
    ctx: Context, tenant_id: str, customer_id: int, page: int = 1, page_size: int = 50
) -> Page[ConversationView]:
    """A customer's conversations, newest first; another tenant's customer is not found."""
    check_page(page, page_size)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        tenant_row(session, Customer, customer_id, tenant_id, "customer")
        query = select(Conversation).where(
            Conversation.tenant_id == tenant_id, Conversation.customer_id == customer_id
        )
        count, rows = fetch_page(session, query, page, page_size,
                                 Conversation.started_at.desc(), Conversation.id.desc())
        return Page(count, page, page_size, [_view(row) for row in rows])


def _inbound_view(message: InboundMessage) -> MessageView:
    return MessageView(
        id=message.id,
        direction="inbound",
        type="media" if message.media else "text",
        body=message.body,
        media=list(message.media or []),
        provider_sid=message.provider_sid,
        status="received",
        in_reply_to=None,
        created_at=message.created_at,
    )


def _outbound_view(message: OutboundMessage) -> MessageView:
    return MessageView(
        id=message.id,
        direction="outbound",
        type="media" if message.media_url else "text",
        body=message.body,
        media=[{"url": message.media_url, "content_type": None}] if message.media_url else [],
        provider_sid=message.provider_sid,
        status=message.status,
        in_reply_to=message.in_reply_to,
        created_at=message.created_at,
    )


@dataclass(frozen=True)
class LastMessage:
    direction: str  # "inbound" | "outbound"
    body: str | None
    created_at: datetime


@dataclass(frozen=True)
class HandoffView:
    reason: str
    requested_by: str
    requested_at: datetime
    last_message: str | None


@dataclass(frozen=True)
class ConversationListItem:
    id: int
    customer_id: int
    customer_phone: str
    profile_name: str | None
    status: str
    needs_human: bool
    started_at: datetime
    last_inbound_at: datetime | None
    last_message_at: datetime
    last_message: LastMessage | None
    handoff: HandoffView | None


def list_tenant_conversations(
    ctx: Context,
    tenant_id: str,
    needs_human: bool | None = None,
    status: str | None = "open",
    page: int = 1,
    page_size: int = 50,
) -> Page[ConversationListItem]:
    """The tenant's conversations with the customer's phone and the latest message. Waiting for
    a person (needs_human=true): oldest handoff first; otherwise latest activity first."""
    check_page(page, page_size)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        waiting = (
            select(
                ConversationHandoff.conversation_id.label("conversation_id"),
                func.min(ConversationHandoff.requested_at).label("requested_at"),
            )
            .where(ConversationHandoff.tenant_id == tenant_id,
                   ConversationHandoff.resumed_at.is_(None))
            .group_by(ConversationHandoff.conversation_id)
            .subquery()
        )
        query = (
            select(Conversation)
            .outerjoin(waiting, waiting.c.conversation_id == Conversation.id)
            .where(Conversation.tenant_id == tenant_id)
        )
        if status is not None:
            query = query.where(Conversation.status == status)
        if needs_human is not None:
            query = query.where(Conversation.needs_human.is_(needs_human))
        if needs_human:
            order = (func.coalesce(waiting.c.requested_at, Conversation.last_message_at).asc(),
                     Conversation.id.asc())
        else:
            order = (Conversation.last_message_at.desc(), Conversation.id.desc())
        count, rows = fetch_page(session, query, page, page_size, *order)
        items = _list_items(session, ctx.crypto, tenant_id, rows)
        return Page(count, page, page_size, items)


def count_waiting(session: Session, tenant_id: str) -> int:
    """How many open conversations wait for a person (list_tenant_conversations'
    needs_human=true count, by the index on them, without reading the page)."""
    return int(session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.tenant_id == tenant_id, Conversation.status == "open",
        Conversation.needs_human.is_(True))) or 0)


def get_tenant_conversation(ctx: Context, tenant_id: str,
                            conversation_id: int) -> ConversationListItem:
    """One conversation as the list shows it (customer, open handoff, latest message); 404 for
    another tenant's."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        row = tenant_row(session, Conversation, conversation_id, tenant_id, "conversation")
        return _list_items(session, ctx.crypto, tenant_id, [row])[0]


def _list_items(
    session: Session, crypto: Crypto, tenant_id: str, rows: list[Conversation]
) -> list[ConversationListItem]:
    ids = [row.id for row in rows]
    customers = {
        customer.id: customer
        for customer in session.scalars(
            select(Customer).where(Customer.tenant_id == tenant_id,
                                   Customer.id.in_({row.customer_id for row in rows}))
        )
    } if rows else {}
    handoffs: dict[int, ConversationHandoff] = {}
    for handoff in session.scalars(
        select(ConversationHandoff)
        .where(ConversationHandoff.tenant_id == tenant_id,
               ConversationHandoff.conversation_id.in_(ids),
               ConversationHandoff.resumed_at.is_(None))
        .order_by(ConversationHandoff.requested_at.desc(), ConversationHandoff.id.desc())
    ) if ids else ():
        handoffs[handoff.conversation_id] = handoff  # the oldest open one wins
    latest = _latest_messages(session, tenant_id, ids)
    items = []
    for row in rows:
        customer = customers[row.customer_id]
        handoff = handoffs.get(row.id)
        items.append(ConversationListItem(
            id=row.id,
            customer_id=row.customer_id,
            customer_phone=crypto.decrypt(customer.phone_encrypted),
            profile_name=customer.profile_name,
            status=row.status,
            needs_human=row.needs_human,
            started_at=row.started_at,
            last_inbound_at=row.last_inbound_at,
            last_message_at=row.last_message_at,
            last_message=latest.get(row.id),
            handoff=HandoffView(handoff.reason, handoff.requested_by, handoff.requested_at,
                                handoff.last_message) if handoff else None,
        ))
    return items


def _latest_messages(session: Session, tenant_id: str, ids: list[int]) -> dict[int, LastMessage]:
    """Each conversation's latest message, either direction (on a tie the reply: it came after)."""
    latest: dict[int, LastMessage] = {}
    if not ids:
        return latest
    for model, direction in ((InboundMessage, "inbound"), (OutboundMessage, "outbound")):
        newest = (
            select(func.max(model.id))
            .where(model.tenant_id == tenant_id, model.conversation_id.in_(ids))
            .group_by(model.conversation_id)
        )
        for message in session.scalars(select(model).where(model.id.in_(newest))):
            conversation_id = message.conversation_id
            if conversation_id is None:
                continue
            seen = latest.get(conversation_id)
            if seen is None or message.created_at >= seen.created_at:
                latest[conversation_id] = LastMessage(direction, message.body, message.created_at)
    return latest


def conversation_messages(
    ctx: Context, tenant_id: str, conversation_id: int, page: int = 1, page_size: int = 50
) -> Page[MessageView]:
    """Both directions in the order they happened (inbound first on a tie: it came first)."""
    check_page(page, page_size)
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        tenant_row(session, Conversation, conversation_id, tenant_id, "conversation")
        inbound = session.scalars(
            select(InboundMessage).where(
                InboundMessage.tenant_id == tenant_id,
                InboundMessage.conversation_id == conversation_id,
            )
        ).all()
        outbound = session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.tenant_id == tenant_id,
                OutboundMessage.conversation_id == conversation_id,
            )
        ).all()
        messages = sorted(
            [_inbound_view(m) for m in inbound] + [_outbound_view(m) for m in outbound],
            key=lambda m: (m.created_at, m.direction != "inbound", m.id),
        )
    start = (page - 1) * page_size
    return Page(len(messages), page, page_size, messages[start : start + page_size])
