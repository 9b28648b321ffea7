"""The NLU classification log: batches from the rasa side in, pages for merchants out, and the
low-confidence examples annotators review.

Each row is tied to its customer and conversation through the inbound message with the same
Twilio MessageSid when there is one, else through the customer reference in the sender id. Phones customers type are stored masked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kit.sender import split_sender
from pii.masking import mask_payload, mask_phones

from backend.wiring import Context
from backend.db import Database
from backend.domain.errors import InvalidInput
from backend.domain.phones import InvalidPhoneNumber, to_e164
from backend.models import Conversation, Customer, InboundMessage, NluClassification, Tenant
from backend.models.customer import CUSTOMER_REF_PATTERN
from backend.security import Crypto
from backend.services.platform.pages import Page, check_page, fetch_page
from backend.services.platform.tenants import require_tenant

MAX_BATCH = 500
# Rasa reads "[text](entity)", "[text]{...}" and "[text][...]" in an example as entity markup.
ENTITY_MARKUP = re.compile(r"\](?=[({\[])")
RANKING_KEPT = 3
FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Classification:
    """One classified customer message, as the rasa side reports it."""

    tenant_id: str
    message_id: str
    sender_id: str | None = None  # "<tenant>:<customer ref>"
    message_sid: str | None = None
    text: str = ""
    intent: str | None = None
    confidence: float = 0.0
    language: str | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    timestamp: datetime | None = None


@dataclass(frozen=True)
class IngestResult:
    stored: int
    skipped: int  # rows of unknown tenants
    duplicates: int  # rows whose (tenant, message_id) was already stored


@dataclass(frozen=True)
class ClassificationView:
    id: int
    customer_id: int | None
    conversation_id: int | None
    message_id: str
    message_sid: str | None
    text: str
    intent: str | None
    confidence: float
    language: str | None
    ranking: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class ClassificationFilter:
    max_confidence: float | None = None
    intent: str | None = None
    language: str | None = None
    from_: datetime | None = None
    to: datetime | None = None


def record_classifications(ctx: Context, rows: Sequence[Classification]) -> IngestResult:
    """Store a batch once per (tenant, message_id); rows of unknown tenants are skipped."""
    if len(rows) > MAX_BATCH:
        raise InvalidInput(f"At most {MAX_BATCH} classifications per batch")
    try:
        return _record(ctx, rows)
    except IntegrityError:
        # A concurrent batch stored some of the same messages first; a second pass skips them.
        return _record(ctx, rows)


def _record(ctx: Context, rows: Sequence[Classification]) -> IngestResult:
    with ctx.db.transaction() as session:
        tenant_ids = {row.tenant_id for row in rows}
        known = set(session.scalars(select(Tenant.id).where(Tenant.id.in_(tenant_ids))))
        wanted = [row for row in rows if row.tenant_id in known]
        keys = {(row.tenant_id, row.message_id) for row in wanted}
        seen: set[tuple[str, str]] = set()
        if keys:
            seen = {
                (tenant, message)
                for tenant, message in session.execute(
                    select(NluClassification.tenant_id, NluClassification.message_id).where(
                        tuple_(NluClassification.tenant_id, NluClassification.message_id).in_(
                            list(keys)
                        )
                    )
                )
            }
        links = _inbound_links(session, wanted)
        senders = _sender_links(session, ctx.crypto, [
            row for row in wanted if (row.tenant_id, row.message_sid or "") not in links])
        stored = duplicates = 0
        for row in wanted:
            key = (row.tenant_id, row.message_id)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            customer_id, conversation_id = links.get(
                (row.tenant_id, row.message_sid or ""),
                senders.get((row.tenant_id, row.sender_id or ""), (None, None)),
            )
            session.add(_row(row, customer_id, conversation_id))
            stored += 1
        session.flush()
        return IngestResult(stored=stored, skipped=len(rows) - len(wanted), duplicates=duplicates)


def _inbound_links(
    session: Session, rows: Sequence[Classification]
) -> dict[tuple[str, str], tuple[int | None, int | None]]:
    """(tenant, MessageSid) → (customer, conversation) of the logged inbound messages."""
    sids = {(row.tenant_id, row.message_sid) for row in rows if row.message_sid}
    if not sids:
        return {}
    found = session.execute(
        select(
            InboundMessage.tenant_id,
            InboundMessage.provider_sid,
            InboundMessage.customer_id,
            InboundMessage.conversation_id,
        ).where(tuple_(InboundMessage.tenant_id, InboundMessage.provider_sid).in_(list(sids)))
    )
    return {(tenant, sid): (customer, talk) for tenant, sid, customer, talk in found}


def _sender_links(
    session: Session, crypto: Crypto, rows: Sequence[Classification]
) -> dict[tuple[str, str], tuple[int | None, int | None]]:
    """(tenant, sender id "<tenant>:<customer ref>") → (customer, their latest conversation), with
    one query for the customers and one for their conversations, whatever the batch size.
    Sender ids from before customer references ("<tenant>:<E.164>") are found by phone hash."""
    refs: dict[tuple[str, str], tuple[str, str]] = {}  # (tenant, sender) → (tenant, ref)
    hashes: dict[tuple[str, str], tuple[str, str]] = {}  # (tenant, sender) → (tenant, phone hash)
    for row in rows:
        sender = row.sender_id or ""
        prefix, name = split_sender(sender)
        key = (row.tenant_id, sender)
        if prefix != row.tenant_id or not name or key in refs or key in hashes:
            continue
        if CUSTOMER_REF_PATTERN.match(name):
            refs[key] = (row.tenant_id, name)
            continue
        try:
            hashes[key] = (row.tenant_id, crypto.keyed_hash(to_e164(name)))
        except InvalidPhoneNumber:
            continue
    found: dict[tuple[str, str], int] = {}  # (tenant, sender) → customer
    if refs:
        by_ref = {
            (tenant, ref): customer_id
            for customer_id, tenant, ref in session.execute(
                select(Customer.id, Customer.tenant_id, Customer.ref).where(
                    tuple_(Customer.tenant_id, Customer.ref).in_(list(set(refs.values())))
                )
            )
        }
        found.update({key: by_ref[value] for key, value in refs.items() if value in by_ref})
    if hashes:
        by_hash = {
            (tenant, phone_hash): customer_id
            for customer_id, tenant, phone_hash in session.execute(
                select(Customer.id, Customer.tenant_id, Customer.phone_hash).where(
                    tuple_(Customer.tenant_id, Customer.phone_hash).in_(list(set(hashes.values())))
                )
            )
        }
        found.update({key: by_hash[value] for key, value in hashes.items() if value in by_hash})
    latest: dict[int, int] = {}
    if found:
        latest = {
            customer_id: conversation_id
            for customer_id, conversation_id in session.execute(
                select(Conversation.customer_id, func.max(Conversation.id))
                .where(Conversation.customer_id.in_(list(set(found.values()))))
                .group_by(Conversation.customer_id)
            )
        }
    return {key: (customer_id, latest.get(customer_id)) for key, customer_id in found.items()}


def _row(row: Classification, customer_id: int | None, conversation_id: int | None
         ) -> NluClassification:
    ranking = [
        {"name": str(item.get("name")), "confidence": float(item.get("confidence") or 0.0)}
        for item in row.ranking[:RANKING_KEPT]
    ]
    entities = [{"entity": str(item.get("entity")), "value": item.get("value")}
                for item in row.entities]
    return NluClassification(
        tenant_id=row.tenant_id,
        customer_id=customer_id,
        conversation_id=conversation_id,
        message_id=row.message_id,
        message_sid=row.message_sid,
        text=mask_phones(row.text),  # review data keeps no phone a customer typed
        intent=row.intent,
        confidence=float(row.confidence),
        language=row.language,
        ranking=ranking,
        entities=mask_payload(entities),
        created_at=row.timestamp or datetime.now(UTC),
    )


def _view(row: NluClassification) -> ClassificationView:
    return ClassificationView(
        id=row.id,
        customer_id=row.customer_id,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        message_sid=row.message_sid,
        text=row.text,
        intent=row.intent,
        confidence=row.confidence,
        language=row.language,
        ranking=list(row.ranking or []),
        entities=list(row.entities or []),
        created_at=row.created_at,
    )


def _filtered(tenant_id: str | None, where: ClassificationFilter) -> Select[Any]:
    query = select(NluClassification)
    if tenant_id is not None:
        query = query.where(NluClassification.tenant_id == tenant_id)
    if where.max_confidence is not None:
        query = query.where(NluClassification.confidence <= where.max_confidence)
    if where.intent:
        query = query.where(NluClassification.intent == where.intent)
    if where.language:
        query = query.where(NluClassification.language == where.language)
    if where.from_ is not None:
        query = query.where(NluClassification.created_at >= where.from_)
    if where.to is not None:
        query = query.where(NluClassification.created_at < where.to)
    return query


def list_classifications(
    ctx: Context,
    tenant_id: str,
    where: ClassificationFilter,
    page: int = 1,
    page_size: int = 50,
) -> Page[ClassificationView]:
    """The tenant's classified messages matching the filter, newest first."""
    check_page(page, page_size)
    if where.from_ and where.to and where.from_ >= where.to:
        raise InvalidInput("from must be before to", {"from": ["Must be before to."]})
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        count, rows = fetch_page(
            session, _filtered(tenant_id, where), page, page_size,
            NluClassification.created_at.desc(), NluClassification.id.desc(),
        )
        return Page(count, page, page_size, [_view(row) for row in rows])


def as_example(text: str) -> str:
    """A customer's words as an example Rasa reads back unchanged: a space breaks anything
    that would look like entity markup."""
    return ENTITY_MARKUP.sub("] ", text)


@dataclass(frozen=True)
class ReviewExample:
    """A customer message to annotate: the intent and confidence the model gave it."""

    text: str
    intent: str
    confidence: float
    language: str | None
    created_at: datetime
    fallback: bool  # the model fell back; intent/confidence are its best real guess


def best_guess(intent: str | None, confidence: float, ranking: list[dict[str, Any]]
               ) -> tuple[str | None, float, bool]:
    """(intent, confidence, fell back): for nlu_fallback, the best-ranked real intent."""
    if intent != FALLBACK_INTENT:
        return intent, confidence, False
    for item in ranking:
        if item.get("name") and item.get("name") != FALLBACK_INTENT:
            return str(item["name"]), float(item.get("confidence") or 0.0), True
    return None, confidence, True


def low_confidence_examples(
    db: Database, threshold: float, since: datetime, tenant_id: str | None = None
) -> list[ReviewExample]:
    """Messages classified below `threshold` (or falling back) since `since`, each distinct text
    once (at its lowest confidence), lowest confidence first."""
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput("threshold must be between 0 and 1")
    query = select(NluClassification).where(
        NluClassification.created_at >= since,
        or_(NluClassification.confidence < threshold,
            NluClassification.intent == FALLBACK_INTENT),
    )
    if tenant_id is not None:
        query = query.where(NluClassification.tenant_id == tenant_id)
    best: dict[str, ReviewExample] = {}
    with db.transaction() as session:
        for row in session.scalars(query.order_by(NluClassification.created_at.desc())):
            text = " ".join(row.text.split())
            intent, confidence, fallback = best_guess(row.intent, row.confidence,
                                                      list(row.ranking or []))
            if not text or intent is None or confidence >= threshold and not fallback:
                continue
            key = text.casefold()
            kept = best.get(key)
            if kept is None or confidence < kept.confidence:
                best[key] = ReviewExample(text, intent, confidence, row.language,
                                          row.created_at, fallback)
    return sorted(best.values(), key=lambda e: (e.confidence, e.intent, e.text.casefold()))


__all__ = [
    "Classification",
    "ClassificationFilter",
    "ClassificationView",
    "IngestResult",
    "ReviewExample",
    "as_example",
    "best_guess",
    "list_classifications",
    "low_confidence_examples",
    "record_classifications",
]
