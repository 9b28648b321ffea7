"""Discount codes: the operator creates them; a merchant redeems one on its subscription."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.billing import MAX_PERCENT
from backend.domain.errors import Conflict, InvalidInput, Unprocessable
from backend.models import DiscountCode
from backend.models.base import utcnow
from backend.wiring import Context

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")


@dataclass(frozen=True)
class DiscountView:
    id: int
    code: str
    kind: str
    value: int
    cycles: int
    expires_at: datetime | None
    max_redemptions: int | None
    redemptions: int
    created_at: datetime


def _view(row: DiscountCode) -> DiscountView:
    return DiscountView(row.id, row.code, row.kind, row.value, row.cycles, row.expires_at,
                        row.max_redemptions, row.redemptions, row.created_at)


def create_discount(ctx: Context, code: str, kind: str, value: int, cycles: int = 1,
                    expires_at: datetime | None = None,
                    max_redemptions: int | None = None) -> DiscountView:
    code = code.strip().upper()
    if not CODE.match(code):
        raise InvalidInput("A code is 3 to 32 letters, digits, - or _")
    if kind not in ("percent", "fixed"):
        raise InvalidInput("kind must be percent or fixed")
    if value < 1 or (kind == "percent" and value > MAX_PERCENT):
        raise InvalidInput("value is a percentage from 1 to 100, or an amount in minor units")
    if cycles < 1 or (max_redemptions is not None and max_redemptions < 1):
        raise InvalidInput("cycles and max_redemptions are at least 1")
    try:
        with ctx.db.transaction() as session:
            row = DiscountCode(code=code, kind=kind, value=value, cycles=cycles,
                               expires_at=expires_at, max_redemptions=max_redemptions,
                               redemptions=0)
            session.add(row)
            session.flush()
            return _view(row)
    except IntegrityError:
        raise Conflict(f"Discount code {code} exists") from None


def list_discounts(ctx: Context) -> list[DiscountView]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(DiscountCode).order_by(DiscountCode.id.desc()))
        return [_view(row) for row in rows]


def redeem(session: Session, code: str, now: datetime | None = None) -> DiscountCode:
    """Count one redemption of `code`, atomically (two merchants racing for the last one: one
    wins); 422 when it is unknown, expired or used up."""
    moment = now or utcnow()
    row = session.scalar(select(DiscountCode).where(DiscountCode.code == code.strip().upper()))
    if row is None:
        raise Unprocessable(f"Unknown discount code {code!r}", {"discount_code": ["Unknown."]})
    if row.expires_at is not None and row.expires_at <= moment:
        raise Unprocessable(f"Discount code {row.code} expired on {row.expires_at:%Y-%m-%d}",
                            {"discount_code": ["Expired."]})
    taken = session.execute(
        update(DiscountCode)
        .where(DiscountCode.id == row.id,
               (DiscountCode.max_redemptions.is_(None))
               | (DiscountCode.redemptions < DiscountCode.max_redemptions))
        .values(redemptions=DiscountCode.redemptions + 1)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Unprocessable(
            f"Discount code {row.code} has reached its {row.max_redemptions} redemptions",
            {"discount_code": ["No redemptions left."]})
    session.refresh(row)
    return row
