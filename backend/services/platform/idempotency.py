"""Idempotency-Key: a POST repeated with the same key and body answers with what it made first."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.errors import Unprocessable
from backend.models import IdempotencyKey

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotencyRequest:
    key: str
    endpoint: str  # e.g. "orders", so one key cannot make an order and then an appointment
    request_hash: str


def request_hash(body: Any) -> str:
    """Hash of the canonical JSON of what was asked (parsed body plus who asked)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed_id(session: Session, tenant_id: str, request: IdempotencyRequest | None) -> int | None:
    """Id of what this key already made, or None when the key is new.

    The same key with another body (or for another endpoint) is refused with 422.
    """
    if request is None:
        return None
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == request.key
        )
    )
    if row is None:
        return None
    if row.request_hash != request.request_hash or row.endpoint != request.endpoint:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request; use a new key"
        )
    return row.resource_id


def remember(session: Session, tenant_id: str, request: IdempotencyRequest | None,
             resource_id: int) -> None:
    """Store the key in the caller's transaction; a concurrent twin then fails on the unique key."""
    if request is None:
        return
    session.add(
        IdempotencyKey(
            tenant_id=tenant_id,
            key=request.key,
            endpoint=request.endpoint,
            request_hash=request.request_hash,
            resource_id=resource_id,
        )
    )
    session.flush()
