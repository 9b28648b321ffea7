"""Bookings: free slots of a service, and appointments that never exceed a window's capacity.

Capacity is counted per availability window: the appointments of that window overlapping the
requested time. Booking first locks the window's row with a no-op UPDATE (a row lock on
PostgreSQL, the single writer's lock on SQLite) and only then counts, so concurrent requests for
the last seat cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.deposits import DEPOSIT_LINE, deposit_due
from backend.domain.orders import CANCELLED as ORDER_CANCELLED
from backend.domain.orders import PAID as ORDER_PAID
from backend.domain.orders import PENDING_PAYMENT as ORDER_PENDING
from backend.domain.orders import check_transition
from backend.domain.payments import SUCCEEDED
from backend.domain.slots import Slot, Window, candidate_slots, overlapping
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.tenant_settings import opening_hours
from backend.models import (
    Appointment,
    AvailabilityWindow,
    Order,
    OrderLine,
    Payment,
    Service,
    ServiceVariant,
    Tenant,
)
from backend.models.base import utcnow
from backend.services.bookings.services import deposit_rule
from backend.services.conversations.automatic import cancel_reminders, note_event, queue_event
from backend.services.orders.carts import require_customer
from backend.services.payments.refunds import queue_refund, request_refund
from backend.services.platform.idempotency import IdempotencyRequest, remember, replayed_id
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.tenants import require_tenant

BOOKED = "booked"
CANCELLED = "cancelled"
NO_SHOW = "no_show"
PENDING_PAYMENT = "pending_payment"  # holding its seat until the deposit is paid
RELEASED = "released"  # the deposit was not paid in time: the seat went back
HOLDS_SEAT = (BOOKED, PENDING_PAYMENT)
RELEASE_REASON = "deposit not paid in time"
ALTERNATIVES = 3
ALTERNATIVES_SEARCH_DAYS = 14
DEFAULT_SLOT_DAYS = 7


class SlotFull(Conflict):
    """The slot has no seat left; `extra` carries the nearest free slots."""

    def __init__(self, description: str, alternatives: list[Slot]) -> None:
        super().__init__(description)
        self.alternatives = alternatives
        self.extra = {"alternatives": [_slot_json(s) for s in alternatives]}


def _slot_json(slot: Slot) -> dict[str, object]:
    return {
        "starts_at": slot.starts_at.isoformat(),
        "ends_at": slot.ends_at.isoformat(),
        "window_id": slot.window_id,
        "remaining": slot.remaining,
    }


@dataclass(frozen=True)
class AppointmentView:
    id: int
    customer_id: int
    service_id: int
    service_variant_id: int
    service_name: str
    variant_name: str
    starts_at: datetime
    ends_at: datetime
    local_starts_at: str  # ISO 8601 in the tenant's timezone, for messages
    status: str
    price_minor: int
    currency: str
    notes: str
    # A deposit booking: what it pays up front, the order to pay (POST
    # /v1/orders/<order_id>/payments), and until when the seat is held unpaid.
    deposit_minor: int = 0
    order_id: int | None = None
    hold_until: datetime | None = None


@dataclass(frozen=True)
class BookedAppointment:
    appointment: AppointmentView
    replayed: bool


def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.timezone)


def _view(session: Session, tenant: Tenant, appointment: Appointment) -> AppointmentView:
    variant = session.get(ServiceVariant, appointment.service_variant_id)
    service = session.get(Service, appointment.service_id)
    assert variant is not None and service is not None
    return AppointmentView(
        id=appointment.id,
        customer_id=appointment.customer_id,
        service_id=appointment.service_id,
        service_variant_id=appointment.service_variant_id,
        service_name=service.name,
        variant_name=variant.name,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        local_starts_at=appointment.starts_at.astimezone(_zone(tenant)).isoformat(),
        status=appointment.status,
        price_minor=appointment.price_minor,
        currency=appointment.currency,
        notes=appointment.notes,
        deposit_minor=appointment.deposit_minor or 0,
        order_id=appointment.order_id,
        hold_until=appointment.hold_until if appointment.status == PENDING_PAYMENT else None,
    )


def _service(session: Session, tenant_id: str, service_id: int) -> Service:
    service = session.get(Service, service_id)
    if service is None or service.tenant_id != tenant_id or not service.active:
        raise NotFound(f"No service {service_id}")
    return service


def _variant(session: Session, tenant_id: str, variant_id: int) -> ServiceVariant:
    variant = session.get(ServiceVariant, variant_id)
    if variant is None or variant.tenant_id != tenant_id or not variant.service.active:
        raise NotFound(f"No service variant {variant_id}")
    return variant


def _pick_variant(session: Session, service: Service, variant_id: int | None) -> ServiceVariant:
    if variant_id is None:
        if len(service.variants) != 1:
            raise InvalidInput(
                f"{service.name} has {len(service.variants)} variants; give variant_id",
                {"variant_id": ["Required for this service."]},
            )
        return service.variants[0]
    variant = _variant(session, service.tenant_id, variant_id)
    if variant.service_id != service.id:
        raise NotFound(f"No variant {variant_id} of service {service.id}")
    return variant


def _windows(service: Service) -> list[Window]:
    return [Window(w.id, w.weekday, w.on_date, w.starts_at, w.ends_at, w.capacity)
            for w in service.windows]


def _booked(session: Session, service_id: int, first: datetime, last: datetime,
            exclude: int | None = None) -> list[Appointment]:
    query = select(Appointment).where(
        Appointment.service_id == service_id,
        Appointment.status.in_(HOLDS_SEAT),
        Appointment.starts_at < last,
        Appointment.ends_at > first,
    )
    if exclude is not None:
        query = query.where(Appointment.id != exclude)
    return list(session.scalars(query))


def _slots(session: Session, tenant: Tenant, service: Service, variant: ServiceVariant,
           first: date, last: date, exclude: int | None = None) -> list[Slot]:
    """Every slot from `first` to `last` (local dates) with the seats left, future ones only."""
    hours = tenant.business_hours
    candidates = candidate_slots(
        first, last, _windows(service), timedelta(minutes=variant.duration_minutes),
        _zone(tenant), (lambda weekday: opening_hours(hours, weekday)) if hours else None,
    )
    if not candidates:
        return []
    booked = _booked(session, service.id, candidates[0][1], candidates[-1][2], exclude)
    now = utcnow()
    slots: list[Slot] = []
    for window, start, end in candidates:
        if start <= now:
            continue
        taken = overlapping(start, end, ((a.starts_at, a.ends_at) for a in booked
                                         if a.window_id == window.id))
        slots.append(Slot(window.id, start, end, window.capacity, max(0, window.capacity - taken)))
    return slots


def available_slots(ctx: Context, tenant_id: str, service_id: int, first: date | None,
                    last: date | None, variant_id: int | None = None) -> list[Slot]:
    """Free slots (remaining > 0) of a service variant between two local dates, inclusive
    (default: what is left of the tenant's today and the seven days after, so a weekly slot
    always shows even when today's has passed)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        first = first or utcnow().astimezone(_zone(tenant)).date()
        last = last or first + timedelta(days=DEFAULT_SLOT_DAYS)
        service = _service(session, tenant_id, service_id)
        variant = _pick_variant(session, service, variant_id)
        return [s for s in _slots(session, tenant, service, variant, first, last) if s.remaining]


def _as_utc(tenant: Tenant, starts_at: datetime) -> datetime:
    """A naive time is the tenant's local time."""
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=_zone(tenant))
    return starts_at.astimezone(UTC)


def _alternatives(session: Session, tenant: Tenant, service: Service, variant: ServiceVariant,
                  around: datetime, exclude: int | None) -> list[Slot]:
    day = around.astimezone(_zone(tenant)).date()
    free = [s for s in _slots(session, tenant, service, variant, day - timedelta(days=1),
                              day + timedelta(days=ALTERNATIVES_SEARCH_DAYS), exclude)
            if s.remaining]
    free.sort(key=lambda s: abs((s.starts_at - around).total_seconds()))
    return sorted(free[:ALTERNATIVES], key=lambda s: s.starts_at)


def _seat(session: Session, tenant: Tenant, service: Service, variant: ServiceVariant,
          starts_at: datetime, exclude: int | None = None) -> tuple[datetime, datetime, int]:
    """Lock the slot's window and check a seat is left; (start, end, window id) or SlotFull."""
    start = _as_utc(tenant, starts_at)
    if start <= utcnow():
        raise InvalidInput("That time has passed", {"starts_at": ["Must be in the future."]})
    day = start.astimezone(_zone(tenant)).date()
    matches = [s for s in _slots(session, tenant, service, variant, day, day, exclude)
               if s.starts_at == start]
    if not matches:
        raise InvalidInput(
            f"{start.isoformat()} is not a bookable start for {service.name}",
            {"starts_at": ["Pick a start from GET /v1/services/<service_id>/slots."]},
        )
    for slot in matches:
        # The lock: whoever holds this window row counts and books; the others wait, then count.
        # A no-op UPDATE rather than SELECT … FOR UPDATE: on PostgreSQL both lock the row, and
        # on SQLite only a write takes the database's write lock before the count.
        session.execute(
            update(AvailabilityWindow)
            .where(AvailabilityWindow.id == slot.window_id)
            .values(capacity=AvailabilityWindow.capacity)
            .execution_options(synchronize_session=False)
        )
        taken = overlapping(
            slot.starts_at, slot.ends_at,
            ((a.starts_at, a.ends_at) for a in _booked(session, service.id, slot.starts_at,
                                                        slot.ends_at, exclude)
             if a.window_id == slot.window_id),
        )
        if taken < slot.capacity:
            return slot.starts_at, slot.ends_at, slot.window_id
    alternatives = _alternatives(session, tenant, service, variant, start, exclude)
    raise SlotFull(f"{start.isoformat()} is fully booked", alternatives)


def book(
    ctx: Context,
    tenant_id: str,
    customer_id: int,
    service_variant_id: int,
    starts_at: datetime,
    notes: str = "",
    idempotency: IdempotencyRequest | None = None,
    notify: bool = True,
) -> BookedAppointment:
    """Book a seat; 409 with `alternatives` when the slot is full. The customer is told, and
    reminded before it (automatic messages), unless `notify` is off (the demo's history)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        previous = replayed_id(session, tenant_id, idempotency)
        if previous is not None:
            appointment = _require(session, tenant_id, previous)
            return BookedAppointment(_view(session, tenant, appointment), replayed=True)
        require_customer(session, tenant_id, customer_id)
        variant = _variant(session, tenant_id, service_variant_id)
        start, end, window_id = _seat(session, tenant, variant.service, variant, starts_at)
        deposit = deposit_due(deposit_rule(variant.service), variant.price_minor)
        appointment = Appointment(
            tenant_id=tenant_id, customer_id=customer_id, service_id=variant.service_id,
            service_variant_id=variant.id, window_id=window_id, starts_at=start, ends_at=end,
            status=PENDING_PAYMENT if deposit else BOOKED, price_minor=variant.price_minor,
            currency=variant.currency, notes=notes, deposit_minor=deposit,
        )
        if deposit:
            appointment.order_id = _deposit_order(session, tenant_id, customer_id, variant,
                                                  deposit).id
            minutes = variant.service.hold_minutes or ctx.settings.deposit_hold_minutes
            appointment.hold_until = utcnow() + timedelta(minutes=minutes)
        session.add(appointment)
        session.flush()
        remember(session, tenant_id, idempotency, appointment.id)
        booked = BookedAppointment(_view(session, tenant, appointment), replayed=False)
        # Noted with the booking; after the commit, the confirmation and the reminders. A held
        # booking is confirmed (and told) when its deposit is paid (payments/deposits.py).
        noted = note_event(session, tenant_id, "appointment_booked", appointment.id,
                           customer_id) if notify and not deposit else None
    if noted is not None:
        queue_event(ctx, noted)
    return booked


def _deposit_order(session: Session, tenant_id: str, customer_id: int,
                   variant: ServiceVariant, deposit: int) -> Order:
    """The order that pays a booking's deposit: pending payment at once, one deposit line (no
    product, no stock), so every payment method of orders applies to it unchanged."""
    title = f"Deposit: {variant.service.name}"
    if len(variant.service.variants) > 1:
        title += f" ({variant.name})"
    order = Order(tenant_id=tenant_id, customer_id=customer_id, status=ORDER_PENDING,
                  currency=variant.currency, total_minor=deposit, placed_at=utcnow(),
                  lines=[OrderLine(tenant_id=tenant_id, variant_id=None,
                                   sku=f"DEPOSIT-{variant.id}"[:64], title=title[:200],
                                   unit_price_minor=deposit, quantity=1,
                                   line_total_minor=deposit, kind=DEPOSIT_LINE)])
    session.add(order)
    session.flush()
    return order


def _lock_order_then(session: Session, appointment_id: int) -> Appointment | None:
    """Lock a deposit booking's order before the booking itself: the order a payment's success
    locks first, so the two never wait on each other the other way round."""
    order_id = session.scalar(select(Appointment.order_id).where(Appointment.id == appointment_id))
    if order_id is not None:
        session.scalar(select(Order).where(Order.id == order_id).with_for_update()
                       .execution_options(populate_existing=True))
    return session.scalar(select(Appointment).where(Appointment.id == appointment_id)
                          .with_for_update().execution_options(populate_existing=True))


def _require_locked(session: Session, tenant_id: str, appointment_id: int,
                    customer_id: int | None) -> Appointment:
    _require(session, tenant_id, appointment_id, customer_id)  # 404 first
    appointment = _lock_order_then(session, appointment_id)
    assert appointment is not None
    return appointment


def _paid_deposit(session: Session, appointment: Appointment) -> Payment | None:
    if appointment.order_id is None:
        return None
    return session.scalar(select(Payment).where(
        Payment.tenant_id == appointment.tenant_id, Payment.order_id == appointment.order_id,
        Payment.status == SUCCEEDED).order_by(Payment.id).limit(1).with_for_update())


def _cancel_deposit_order(session: Session, appointment: Appointment, reason: str) -> None:
    """An unpaid deposit order goes with its hold (nothing to give back)."""
    if appointment.order_id is None:
        return
    order = session.get(Order, appointment.order_id, with_for_update=True)
    if order is not None and order.status == ORDER_PENDING:
        check_transition(order.status, ORDER_CANCELLED)
        order.status, order.cancel_reason = ORDER_CANCELLED, reason


def _require(session: Session, tenant_id: str, appointment_id: int,
             customer_id: int | None = None, lock: bool = False) -> Appointment:
    query = select(Appointment).where(Appointment.id == appointment_id,
                                      Appointment.tenant_id == tenant_id)
    if customer_id is not None:
        query = query.where(Appointment.customer_id == customer_id)
    appointment = session.scalar(query.with_for_update() if lock else query)
    if appointment is None:
        raise NotFound(f"No appointment {appointment_id}")
    return appointment


def cancel(ctx: Context, tenant_id: str, appointment_id: int,
           customer_id: int | None = None) -> AppointmentView:
    """Cancel (frees the seat); cancelling twice is 409. A paid deposit: the merchant
    cancelling (no `customer_id`) refunds it in full through the provider (a job); the customer
    cancelling keeps it with the merchant (no cancellation policy exists yet). An unpaid hold's
    order is cancelled with it."""
    return _end(ctx, tenant_id, appointment_id, customer_id, CANCELLED, "appointment_cancelled")


def _end(ctx: Context, tenant_id: str, appointment_id: int, customer_id: int | None,
         status: str, event: str, moment: datetime | None = None) -> AppointmentView:
    """A booked appointment ends without taking place (cancelled, or a no-show once `moment`
    is past its start): its reminders go, and the customer is told (an automatic message)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        appointment = _require_locked(session, tenant_id, appointment_id, customer_id)
        if status == NO_SHOW and customer_id is not None:
            raise InvalidInput("Only the merchant records a no-show")
        endable = (BOOKED, PENDING_PAYMENT) if status == CANCELLED else (BOOKED,)
        if appointment.status not in endable:
            raise Conflict(f"Appointment {appointment_id} is already {appointment.status}")
        if moment is not None and appointment.starts_at > moment:
            raise Conflict(f"Appointment {appointment_id} has not started yet")
        was = appointment.status
        appointment.status = status
        refund_id = None
        if was == PENDING_PAYMENT:
            _cancel_deposit_order(session, appointment, "appointment cancelled")
        elif status == CANCELLED and customer_id is None:
            # The merchant cancels: a paid deposit goes back (a no-show or the customer's own
            # cancellation keeps it).
            payment = _paid_deposit(session, appointment)
            if payment is not None:
                refund_id = request_refund(session, payment, f"appointment {appointment.id} "
                                                             "cancelled by the merchant")
        cancel_reminders(session, tenant_id, appointment.id)
        session.flush()
        view = _view(session, tenant, appointment)
        noted = note_event(session, tenant_id, event, appointment_id, appointment.customer_id) \
            if was == BOOKED else None
    if refund_id is not None:
        queue_refund(ctx, refund_id)
    if noted is not None:
        queue_event(ctx, noted)
    return view


def reschedule(ctx: Context, tenant_id: str, appointment_id: int, starts_at: datetime,
               customer_id: int | None = None) -> AppointmentView:
    """Move a booked appointment to another slot (its own seat does not count against it)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        appointment = _require(session, tenant_id, appointment_id, customer_id, lock=True)
        if appointment.status not in HOLDS_SEAT:
            raise Conflict(f"Appointment {appointment_id} is {appointment.status}")
        variant = _variant(session, tenant_id, appointment.service_variant_id)
        start, end, window_id = _seat(session, tenant, variant.service, variant, starts_at,
                                      exclude=appointment.id)
        appointment.starts_at, appointment.ends_at, appointment.window_id = start, end, window_id
        # The old time's reminders go with it; the job schedules the new time's.
        cancel_reminders(session, tenant_id, appointment.id)
        session.flush()
        view = _view(session, tenant, appointment)
        # Each move is its own message (version: when it moved), however often it moves.
        noted = note_event(session, tenant_id, "appointment_rescheduled", appointment_id,
                           appointment.customer_id, version=utcnow().isoformat())
    queue_event(ctx, noted)
    return view


def mark_no_show(ctx: Context, tenant_id: str, appointment_id: int,
                 customer_id: int | None = None, now: datetime | None = None) -> AppointmentView:
    """The merchant records that the customer did not come (once it has started); the customer
    gets a follow-up (an automatic message). 409 before the start or when not booked."""
    return _end(ctx, tenant_id, appointment_id, customer_id, NO_SHOW, "appointment_no_show",
                moment=now or utcnow())


def get_appointment(ctx: Context, tenant_id: str, appointment_id: int,
                    customer_id: int | None = None) -> AppointmentView:
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        return _view(session, tenant, _require(session, tenant_id, appointment_id, customer_id))


def list_appointments(
    ctx: Context, tenant_id: str, *, customer_id: int | None = None, status: str | None = None,
    service_id: int | None = None, start: datetime | None = None, end: datetime | None = None,
    page: int = 1, page_size: int = 50,
) -> Page[AppointmentView]:
    """By start time."""
    query = select(Appointment).where(Appointment.tenant_id == tenant_id)
    if customer_id is not None:
        query = query.where(Appointment.customer_id == customer_id)
    if status:
        query = query.where(Appointment.status == status)
    if service_id is not None:
        query = query.where(Appointment.service_id == service_id)
    if start is not None:
        query = query.where(Appointment.starts_at >= start)
    if end is not None:
        query = query.where(Appointment.starts_at < end)
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        count, rows = fetch_page(session, query, page, page_size, Appointment.starts_at)
        return Page(count, page, page_size, [_view(session, tenant, a) for a in rows])


def release_unpaid_holds(ctx: Context, now: datetime | None = None) -> list[int]:
    """Release every booking still pending_payment past its hold (hold_until: the service's
    hold_minutes, else DEPOSIT_HOLD_MINUTES, from when it was booked): the seat goes back and
    the deposit's order is cancelled. Each in its own transaction, locked and re-checked, so a
    payment landing meanwhile wins; a payment landing after is refunded
    (payments/deposits.py). Returns the released ids."""
    moment = now or utcnow()
    with ctx.db.transaction() as session:
        due = list(session.scalars(
            select(Appointment.id).where(Appointment.status == PENDING_PAYMENT,
                                         Appointment.hold_until <= moment)
            .order_by(Appointment.id)))
    released: list[int] = []
    for appointment_id in due:
        with ctx.db.transaction() as session:
            appointment = _lock_order_then(session, appointment_id)
            if appointment is None or appointment.status != PENDING_PAYMENT \
                    or appointment.hold_until is None or appointment.hold_until > moment:
                continue
            if appointment.order_id is not None:
                order = session.get(Order, appointment.order_id, with_for_update=True)
                if order is not None and order.status == ORDER_PAID:
                    continue  # paid: the payment's own transaction confirms it
            appointment.status = RELEASED
            _cancel_deposit_order(session, appointment, RELEASE_REASON)
            # The customer is told the time is free again (and may book anew).
            noted = note_event(session, appointment.tenant_id, "appointment_released",
                               appointment_id, appointment.customer_id)
        queue_event(ctx, noted)
        released.append(appointment_id)
    return released
