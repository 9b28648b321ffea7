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
from backend.domain.slots import Slot, Window, candidate_slots, overlapping
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.tenant_settings import opening_hours
from backend.models import Appointment, AvailabilityWindow, Service, ServiceVariant, Tenant
from backend.models.base import utcnow
from backend.services.conversations.automatic import cancel_reminders, note_event, queue_event
from backend.services.orders.carts import require_customer
from backend.services.platform.idempotency import IdempotencyRequest, remember, replayed_id
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.tenants import require_tenant

BOOKED = "booked"
CANCELLED = "cancelled"
NO_SHOW = "no_show"
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
        Appointment.status == BOOKED,
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
        appointment = Appointment(
            tenant_id=tenant_id, customer_id=customer_id, service_id=variant.service_id,
            service_variant_id=variant.id, window_id=window_id, starts_at=start, ends_at=end,
            status=BOOKED, price_minor=variant.price_minor, currency=variant.currency, notes=notes,
        )
        session.add(appointment)
        session.flush()
        remember(session, tenant_id, idempotency, appointment.id)
        booked = BookedAppointment(_view(session, tenant, appointment), replayed=False)
        # Noted with the booking; after the commit, the confirmation and the reminders.
        noted = note_event(session, tenant_id, "appointment_booked", appointment.id,
                           customer_id) if notify else None
    if noted is not None:
        queue_event(ctx, noted)
    return booked


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
    """Cancel (frees the seat); cancelling twice is 409."""
    return _end(ctx, tenant_id, appointment_id, customer_id, CANCELLED, "appointment_cancelled")


def _end(ctx: Context, tenant_id: str, appointment_id: int, customer_id: int | None,
         status: str, event: str, moment: datetime | None = None) -> AppointmentView:
    """A booked appointment ends without taking place (cancelled, or a no-show once `moment`
    is past its start): its reminders go, and the customer is told (an automatic message)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        appointment = _require(session, tenant_id, appointment_id, customer_id, lock=True)
        if status == NO_SHOW and customer_id is not None:
            raise InvalidInput("Only the merchant records a no-show")
        if appointment.status != BOOKED:
            raise Conflict(f"Appointment {appointment_id} is already {appointment.status}")
        if moment is not None and appointment.starts_at > moment:
            raise Conflict(f"Appointment {appointment_id} has not started yet")
        appointment.status = status
        cancel_reminders(session, tenant_id, appointment.id)
        session.flush()
        view = _view(session, tenant, appointment)
        noted = note_event(session, tenant_id, event, appointment_id, appointment.customer_id)
    queue_event(ctx, noted)
    return view


def reschedule(ctx: Context, tenant_id: str, appointment_id: int, starts_at: datetime,
               customer_id: int | None = None) -> AppointmentView:
    """Move a booked appointment to another slot (its own seat does not count against it)."""
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        appointment = _require(session, tenant_id, appointment_id, customer_id, lock=True)
        if appointment.status != BOOKED:
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
