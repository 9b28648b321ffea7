"""Queueing a reply: store its messages in order (the outbox), then hand the batch to one
delivery job by id.

The rows are committed before anything is enqueued, so nothing depends on Redis keeping a job:
when Redis is unreachable the job runs in this process (queueing/runner.py); when it was enqueued but
no worker takes it within OUTBOX_IN_PROCESS_AFTER_SECONDS, this process sends it too; and the
sweep re-enqueues rows left queued (worker down, Redis lost its data). Sending claims each row,
so however many of these paths run, a row goes out once (services/conversations/delivery.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import InvalidInput
from backend.domain.phones import to_e164
from backend.queueing.names import DELIVER_OUTBOUND
from backend.queueing.runner import JobQueueUnavailable, RQRunner
from backend.models import OutboundMessage
from backend.models.base import utcnow
from backend.services.conversations.conversations import current_conversation, in_reply_window
from backend.services.platform.customers import find_customer
from backend.services.platform.limits import check_limit, messages_this_month
from backend.services.platform.tenants import require_tenant

log = logging.getLogger(__name__)
# A sender holds a row in `sending` for one Twilio call (15 s timeout); after this long it died.
SENDING_LEASE = timedelta(minutes=5)
UNKNOWN_OUTCOME = (
    "outcome unknown: the sender stopped during the call to Twilio; not resent, so that the "
    "customer never gets it twice"
)


@dataclass(frozen=True)
class OutgoingMessage:
    body: str | None = None
    media_url: str | None = None


@dataclass(frozen=True)
class SweepReport:
    requeued: list[int]  # outbox ids re-enqueued (first id of each batch's pending rows)
    unknown: list[int]  # left in `sending` by a sender that died: failed, never resent
    given_up: list[int]  # still queued after OUTBOX_GIVE_UP_HOURS: failed


def queue_outbound(
    ctx: Context,
    tenant_id: str,
    to: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
) -> list[int]:
    """Store the messages as queued and enqueue their delivery; returns their ids in order.
    A reply to an inbound message already answered returns the stored reply's ids instead."""
    phone = to_e164(to, field="to")
    ids = store_outbound(ctx, tenant_id, phone, messages, in_reply_to)
    enqueue_delivery(ctx, ids)
    return ids


def enqueue_delivery(ctx: Context, ids: list[int]) -> None:
    """Hand stored rows to a delivery job. Never raises for a missing queue: the rows are safe in
    the database and the sweep re-enqueues them."""
    try:
        ctx.jobs.enqueue(DELIVER_OUTBOUND, ids)
    except JobQueueUnavailable as error:  # no in-process fallback configured
        log.warning("outbound %s stays queued for the sweep: %s", ids, error)
        return
    _send_here_unless_taken(ctx, ids)


def _send_here_unless_taken(ctx: Context, ids: list[int]) -> None:
    """Enqueued on RQ: if no worker has taken the batch after OUTBOX_IN_PROCESS_AFTER_SECONDS
    (worker down or backed up), deliver it from this process as well; the claims make the
    second sender a no-op when the worker was first."""
    delay = ctx.settings.outbox_in_process_after_seconds
    if delay > 0 and isinstance(ctx.jobs, RQRunner):
        ctx.jobs.in_process_later(delay, DELIVER_OUTBOUND, ids,
                                  unless=lambda: not still_queued(ctx, ids))


def still_queued(ctx: Context, ids: list[int]) -> bool:
    with ctx.db.transaction() as session:
        return session.scalar(
            select(OutboundMessage.id)
            .where(OutboundMessage.id.in_(ids), OutboundMessage.status == "queued")
            .limit(1)
        ) is not None


def store_outbound(
    ctx: Context,
    tenant_id: str,
    phone: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
) -> list[int]:
    """Store one batch as queued without enqueuing it (queue_outbound does both); phone is E.164.

    Replies to a customer who wrote in the last 24 h always go out; other messages count
    against the tier's monthly limit (LimitExceeded, nothing stored, when it is spent).
    """
    try:
        with ctx.db.transaction() as session:
            return add_outbound(session, ctx, tenant_id, phone, messages, in_reply_to)
    except IntegrityError:
        # The same reply posted twice at once: the other request stored it first.
        if in_reply_to is None:
            raise
        with ctx.db.transaction() as session:
            existing = reply_to(session, tenant_id, in_reply_to)
        if not existing:
            raise
        return existing


def reply_to(session: Session, tenant_id: str, in_reply_to: str) -> list[int]:
    """The ids already stored in reply to this inbound message, in order (none: [])."""
    return list(session.scalars(
        select(OutboundMessage.id)
        .where(OutboundMessage.tenant_id == tenant_id, OutboundMessage.in_reply_to == in_reply_to)
        .order_by(OutboundMessage.position, OutboundMessage.id)
    ))


def add_outbound(
    session: Session,
    ctx: Context,
    tenant_id: str,
    phone: str,
    messages: Sequence[OutgoingMessage],
    in_reply_to: str | None = None,
) -> list[int]:
    """store_outbound inside the caller's transaction (so that the caller's own change, e.g. a
    payment marked notified, commits with the messages or not at all)."""
    if not messages or any(not (m.body or m.media_url) for m in messages):
        raise InvalidInput("Every message needs a body or a media_url")
    batch_id = uuid.uuid4().hex
    tenant = require_tenant(session, tenant_id)
    if in_reply_to is not None:
        existing = reply_to(session, tenant_id, in_reply_to)
        if existing:  # a retry of a reply already stored: answered once, whatever it says now
            return existing
    customer = find_customer(session, ctx.crypto, tenant_id, phone)
    conversation = None
    if customer is not None:
        conversation = current_conversation(session, customer, inbound=False)
    if not in_reply_window(conversation):
        check_limit(tenant.tier, "messages", messages_this_month(session, tenant), len(messages))
    rows = [
        OutboundMessage(
            tenant_id=tenant_id,
            customer_id=customer.id if customer else None,
            conversation_id=conversation.id if conversation else None,
            to_phone_encrypted=ctx.crypto.encrypt(phone),
            to_phone_hash=ctx.crypto.keyed_hash(phone),
            body=message.body,
            media_url=message.media_url,
            in_reply_to=in_reply_to,
            status="queued",
            batch_id=batch_id,
            position=position,
        )
        for position, message in enumerate(messages)
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def sweep_outbox(ctx: Context, now: datetime | None = None) -> SweepReport:
    """Re-enqueue batches whose rows sat queued for OUTBOX_STALE_SECONDS (their job was lost or
    no worker ran it); fail rows a dead sender left in `sending`, and rows too old to send."""
    moment = now or utcnow()
    stale_before = moment - timedelta(seconds=ctx.settings.outbox_stale_seconds)
    give_up_before = moment - timedelta(hours=ctx.settings.outbox_give_up_hours)
    with ctx.db.transaction() as session:
        unknown = _fail_where(session, "sending", moment - SENDING_LEASE, UNKNOWN_OUTCOME)
        given_up = _fail_where(
            session, "queued", give_up_before,
            f"not sent within {ctx.settings.outbox_give_up_hours} h", by_creation=True)
        rows = session.execute(
            select(OutboundMessage.id, OutboundMessage.batch_id)
            .where(OutboundMessage.status == "queued", OutboundMessage.updated_at < stale_before)
            .order_by(OutboundMessage.batch_id, OutboundMessage.position, OutboundMessage.id)
        ).all()
        batches: dict[str, list[int]] = {}
        for row in rows:
            batches.setdefault(row.batch_id, []).append(row.id)
        if rows:
            # Touched, so the next sweep waits another period before enqueuing them again.
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_([row.id for row in rows]),
                       OutboundMessage.status == "queued")
                .values(updated_at=moment)
                .execution_options(synchronize_session=False)
            )
    for ids in batches.values():
        enqueue_delivery(ctx, ids)
    if batches or unknown or given_up:
        log.warning("outbox sweep: re-enqueued %d batch(es), %d unknown, %d given up",
                    len(batches), len(unknown), len(given_up))
    return SweepReport([ids[0] for ids in batches.values()], unknown, given_up)


def _fail_where(
    session: Session, status: str, before: datetime, error: str, by_creation: bool = False
) -> list[int]:
    column = OutboundMessage.created_at if by_creation else OutboundMessage.updated_at
    ids = list(session.scalars(
        select(OutboundMessage.id).where(OutboundMessage.status == status, column < before)
    ))
    if ids:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids), OutboundMessage.status == status)
            .values(status="failed", error=error, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids
