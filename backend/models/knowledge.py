"""A tenant's knowledge base: FAQ entries, documents cut into passages, the base's version."""

from __future__ import annotations

import uuid
from datetime import datetime
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class KbEntry(Base):
    """One FAQ: phrasings of the question (any language) and the answer per language."""

    __tablename__ = "kb_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_kb_entries_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # The merchant's own stable name for the entry ("returns"), used by imports to update it.
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # {"en": …, "sw": …}
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class KbDocument(Base):
    """A document (plain text, Markdown or PDF text) in one language, cut into passages."""

    __tablename__ = "kb_documents"
    __table_args__ = (Index("ix_kb_documents_tenant_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))  # text/plain | text/markdown | …pdf
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    passages: Mapped[list[KbPassage]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="KbPassage.position"
    )


class KbPassage(Base):
    __tablename__ = "kb_passages"
    __table_args__ = (
        UniqueConstraint("document_id", "position"),
        Index("ix_kb_passages_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)

    document: Mapped[KbDocument] = relationship(back_populates="passages")


class KbState(Base):
    """The knowledge base's version: every change bumps it; the index records the one it holds."""

    __tablename__ = "kb_states"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Names this knowledge base's history: an index built for another database (or before the
    # tables were emptied) has the same version numbers but another generation.
    generation: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
