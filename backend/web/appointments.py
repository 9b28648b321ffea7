"""Appointments as a day and a week in the shop's timezone: each with its customer (phone
masked), service and status; cancelling one or recording a no-show through the API's booking
service (the customer is told, as through the API)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request

from backend.domain.payments import mask_phone
from backend.interface.scopes import requires
from backend.services.bookings.appointments import (
    AppointmentView,
    cancel,
    list_appointments,
    mark_no_show,
)
from backend.services.platform.customers import customers_by_id
from backend.web.core import PageError, blp, context, done, page, tenant_id, viewer

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
