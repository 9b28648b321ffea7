"""Loading one row of a tenant: another tenant's row is simply not found (404, never 403)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from backend.domain.errors import NotFound

T = TypeVar("T")


def tenant_row(session: Session, model: type[T], row_id: Any, tenant_id: str, label: str) -> T:
    """The `model` row with this id when it belongs to `tenant_id`; NotFound("No <label> <id>")."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "tenant_id") != tenant_id:
        raise NotFound(f"No {label} {row_id}")
    return row
