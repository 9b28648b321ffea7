"""What the local Twilio simulator received, in arrival order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, IdType, UtcDateTime, utcnow


class SandboxMessage(Base):
    __tablename__ = "sandbox_messages"
    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    from_address: Mapped[str] = mapped_column(String(64))
    to_encrypted: Mapped[str] = mapped_column(Text)
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(Text)
    status_callback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
