"""Discount codes: the operator creates, changes and deactivates them (each change in the
platform's audit log, before and after); a merchant redeems one on its subscription.

Once a code has been redeemed, what a subscription holding it was promised is fixed: its code,
kind, value and cycles cannot change (409); its expiry, maximum redemptions and whether it is
active still can (they only decide who may redeem it next)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.billing import MAX_PERCENT
from backend.domain.errors import Conflict, InvalidInput, NotFound, Unprocessable
from backend.models import DiscountCode
from backend.models.base import utcnow
from backend.services.platform.audit import record_platform_audit
from backend.wiring import Context

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
FIXED_ONCE_REDEEMED = ("code", "kind", "value", "cycles")
CHANGEABLE = (*FIXED_ONCE_REDEEMED, "expires_at", "max_redemptions", "active")


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
    deactivated_at: datetime | None
    redeemable: bool  # active, not expired, redemptions left
    created_at: datetime


def _redeemable(row: DiscountCode, moment: datetime) -> bool:
    return (row.deactivated_at is None
            and (row.expires_at is None or row.expires_at > moment)
            and (row.max_redemptions is None or row.redemptions < row.max_redemptions))


def _view(row: DiscountCode, moment: datetime | None = None) -> DiscountView:
    return DiscountView(row.id, row.code, row.kind, row.value, row.cycles, row.expires_at,
                        row.max_redemptions, row.redemptions, row.deactivated_at,
                        _redeemable(row, moment or utcnow()), row.created_at)


def _audited(view: DiscountView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in (
        "code", "kind", "value", "cycles", "expires_at", "max_redemptions", "redemptions",
        "deactivated_at")}


def _check(code: str, kind: str, value: int, cycles: int,
           max_redemptions: int | None) -> None:
    if not CODE.match(code):
        raise Unprocessable("A code is 3 to 32 letters, digits, - or _",
                           {"code": ["3 to 32 letters, digits, - or _."]})
    if kind not in ("percent", "fixed"):
        raise Unprocessable("kind must be percent or fixed", {"kind": ["percent or fixed."]})
    if value < 1 or (kind == "percent" and value > MAX_PERCENT):
        raise Unprocessable("value is a percentage from 1 to 100, or an amount in minor units",
                           {"value": ["1-100 for percent; minor units above 0 for fixed."]})
    if cycles < 1 or (max_redemptions is not None and max_redemptions < 1):
        raise Unprocessable("cycles and max_redemptions are at least 1",
                            {"cycles": ["At least 1."]})


def create_discount(ctx: Context, code: str, kind: str, value: int, cycles: int = 1,
                    expires_at: datetime | None = None,
                    max_redemptions: int | None = None) -> DiscountView:
    code = code.strip().upper()
    _check(code, kind, value, cycles, max_redemptions)
    try:
        with ctx.db.transaction() as session:
            row = DiscountCode(code=code, kind=kind, value=value, cycles=cycles,
                               expires_at=expires_at, max_redemptions=max_redemptions,
                               redemptions=0)
            session.add(row)
            session.flush()
            view = _view(row)
            record_platform_audit(session, "discount_code.create", ("discount_code", row.id),
                                  None, _audited(view))
            return view
    except IntegrityError:
        raise Conflict(f"Discount code {code} exists") from None


def list_discounts(ctx: Context) -> list[DiscountView]:
    now = utcnow()
    with ctx.db.transaction() as session:
        rows = session.scalars(select(DiscountCode).order_by(DiscountCode.id.desc()))
        return [_view(row, now) for row in rows]


def get_discount(ctx: Context, discount_id: int) -> DiscountView:
    with ctx.db.transaction() as session:
        row = session.get(DiscountCode, discount_id)
        if row is None:
            raise NotFound(f"No discount code {discount_id}")
        return _view(row)


def update_discount(ctx: Context, discount_id: int, changes: dict[str, Any]) -> DiscountView:
    """Change a code's expiry (None: none), maximum redemptions (None: unlimited; never fewer
    than already made), active (False deactivates it now, True again), and, while nobody has
    redeemed it, its code, kind, value and cycles (409 after a redemption)."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))}")
    now = utcnow()
    try:
        with ctx.db.transaction() as session:
            row = session.get(DiscountCode, discount_id, with_for_update=True)
            if row is None:
                raise NotFound(f"No discount code {discount_id}")
            before = _view(row, now)
            wanted = {**changes}
            if "code" in wanted:
                wanted["code"] = str(wanted["code"]).strip().upper()
            fixed = sorted(name for name in FIXED_ONCE_REDEEMED
                           if name in wanted and wanted[name] != getattr(row, name))
            if fixed and row.redemptions > 0:
                raise Conflict(
                    f"Discount code {row.code} has been redeemed {row.redemptions} time(s): its "
                    f"{', '.join(fixed)} can no longer change (create a new code)",
                    {name: ["Fixed once redeemed."] for name in fixed})
            after = {name: wanted.get(name, getattr(row, name))
                     for name in ("code", "kind", "value", "cycles", "max_redemptions")}
            _check(after["code"], after["kind"], after["value"], after["cycles"],
                   after["max_redemptions"])
            limit = after["max_redemptions"]
            if limit is not None and limit < row.redemptions:
                raise Unprocessable(
                    f"Discount code {row.code} has already been redeemed {row.redemptions} "
                    f"time(s): max_redemptions cannot be {limit}",
                    {"max_redemptions": [f"At least {row.redemptions}."]})
            for name in ("code", "kind", "value", "cycles", "max_redemptions", "expires_at"):
                if name in wanted:
                    setattr(row, name, wanted[name])
            if "active" in wanted:
                if not wanted["active"]:
                    row.deactivated_at = row.deactivated_at or now
                else:
                    row.deactivated_at = None
            session.flush()
            view = _view(row, now)
            if _audited(view) != _audited(before):
                record_platform_audit(session, "discount_code.update",
                                      ("discount_code", row.id), _audited(before),
                                      _audited(view))
            return view
    except IntegrityError:
        raise Conflict(f"Discount code {changes.get('code')} exists") from None


def redeem(session: Session, code: str, now: datetime | None = None) -> DiscountCode:
    """Count one redemption of `code`, atomically (two merchants racing for the last one: one
    wins); 422 when it is unknown, expired or used up."""
    moment = now or utcnow()
    row = session.scalar(select(DiscountCode).where(DiscountCode.code == code.strip().upper()))
    if row is None:
        raise Unprocessable(f"Unknown discount code {code!r}", {"discount_code": ["Unknown."]})
    if row.deactivated_at is not None:
        raise Unprocessable(f"Discount code {row.code} is no longer offered",
                            {"discount_code": ["Deactivated."]})
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
