"""Appointments as a day and a week in the shop's timezone: each with its customer (phone
masked), service and status; cancelling one, recording a no-show or moving it to another free
slot of the same service variant (the API's RescheduleSchema) through the API's booking service
(the customer is told, as through the API)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request

from backend.domain.payments import mask_phone
from backend.interface.inputs import RescheduleSchema
from backend.interface.scopes import requires
from backend.services.bookings.appointments import (
    AppointmentView,
    available_slots,
    cancel,
    get_appointment,
    list_appointments,
    mark_no_show,
    reschedule,
)
from backend.services.platform.customers import customers_by_id
from backend.web.core import PageError, blp, context, done, page, tenant_id, validated, viewer

RESCHEDULE_DAYS = 14  # the free slots offered for a move: from today, two weeks
MAX_SHOWN = 200  # a day's or a week's appointments on one page (a salon has far fewer)


def _zone() -> ZoneInfo:
    return ZoneInfo(viewer().tenant.timezone)


def _day(raw: str | None) -> date:
    """The asked day (YYYY-MM-DD), else today in the shop's timezone."""
    if not raw:
        return datetime.now(_zone()).date()
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise PageError(422, "appointments.bad_day") from error


def _between(first: date, days: int) -> list[dict[str, Any]]:
    """The shop's appointments from local midnight of `first` for `days` days, with their
    customer's name and masked phone, grouped by local day."""
    zone = _zone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(first + timedelta(days=days), time.min, tzinfo=zone)
    found = list_appointments(context(), tenant_id(), start=start, end=end, page=1,
                              page_size=MAX_SHOWN)
    people = customers_by_id(context(), tenant_id(), {a.customer_id for a in found.results})
    by_day: dict[date, list[dict[str, Any]]] = {first + timedelta(days=n): []
                                                for n in range(days)}
    for appointment in found.results:
        person = people.get(appointment.customer_id)
        local = appointment.starts_at.astimezone(zone)
        by_day.setdefault(local.date(), []).append({
            "appointment": appointment, "starts": local,
            "ends": appointment.ends_at.astimezone(zone),
            "name": person.profile_name if person else None,
            "phone": mask_phone(person.phone) if person else "***",
            "started": appointment.starts_at <= datetime.now(zone)})
    return [{"day": day, "items": items} for day, items in sorted(by_day.items())]


@blp.get("/appointments")
@requires("bookings:read")
def appointments() -> Response:
    day = _day(request.args.get("day"))
    [shown] = _between(day, 1)
    return page("appointments.html", view="day", day=day, days=[shown],
                previous=day - timedelta(days=1), next=day + timedelta(days=1),
                today=datetime.now(_zone()).date())


@blp.get("/appointments/week")
@requires("bookings:read")
def appointments_week() -> Response:
    day = _day(request.args.get("day"))
    monday = day - timedelta(days=day.weekday())
    return page("appointments.html", view="week", day=monday, days=_between(monday, 7),
                previous=monday - timedelta(days=7), next=monday + timedelta(days=7),
                today=datetime.now(_zone()).date())


def _back(changed: AppointmentView, notice: str) -> Response:
    view = request.form.get("view", "day")
    local = changed.starts_at.astimezone(_zone()).date().isoformat()
    return done("web.appointments_week" if view == "week" else "web.appointments", notice,
                day=local)


@blp.post("/appointments/<int:appointment_id>/cancel")
@requires("bookings:write")
def appointment_cancel(appointment_id: int) -> Response:
    return _back(cancel(context(), tenant_id(), appointment_id), "appointments.cancelled")


@blp.post("/appointments/<int:appointment_id>/no-show")
@requires("bookings:write")
def appointment_no_show(appointment_id: int) -> Response:
    return _back(mark_no_show(context(), tenant_id(), appointment_id), "appointments.no_show")


@blp.get("/appointments/<int:appointment_id>/reschedule")
@requires("bookings:write")
def appointment_reschedule_form(appointment_id: int) -> Response:
    """The free slots of the appointment's service variant for the next two weeks, by day."""
    found = get_appointment(context(), tenant_id(), appointment_id)
    zone = _zone()
    today = datetime.now(zone).date()
    slots = [] if found.status != "booked" else available_slots(
        context(), tenant_id(), found.service_id, today, today + timedelta(days=RESCHEDULE_DAYS),
        found.service_variant_id)
    by_day: dict[date, list[Any]] = {}
    for slot in slots:
        if slot.starts_at == found.starts_at:
            continue  # where it is now
        by_day.setdefault(slot.starts_at.astimezone(zone).date(), []).append(
            {"value": slot.starts_at.astimezone(zone).isoformat(),
             "starts": slot.starts_at.astimezone(zone), "remaining": slot.remaining})
    people = customers_by_id(context(), tenant_id(), {found.customer_id})
    person = people.get(found.customer_id)
    return page("reschedule.html", appointment=found, starts=found.starts_at.astimezone(zone),
                days=sorted(by_day.items()), view=request.args.get("view", "day"),
                name=person.profile_name if person else None,
                phone=mask_phone(person.phone) if person else "***")


@blp.post("/appointments/<int:appointment_id>/reschedule")
@requires("bookings:write")
def appointment_reschedule(appointment_id: int) -> Response:
    body = validated(RescheduleSchema(), {"starts_at": request.form.get("starts_at", "")})
    return _back(reschedule(context(), tenant_id(), appointment_id, body["starts_at"]),
                 "appointments.rescheduled")
