"""Applying a PATCH: copy the fields a caller sent, and only those it may change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session


def apply_changes(session: Session, row: Any, changes: Mapping[str, Any],
                  editable: Iterable[str]) -> None:
    """Set each editable field present in `changes` on `row`, then flush (constraints fire here)."""
    for name in editable:
        if name in changes:
            setattr(row, name, changes[name])
    session.flush()
