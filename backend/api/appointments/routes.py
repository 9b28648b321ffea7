"""Appointments for merchants (any customer) and the assistant (its X-CUSTOMER-PHONE customer)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.appointments.schemas import (
    AppointmentCreateSchema,
    AppointmentPageSchema,
    AppointmentQuerySchema,
    AppointmentSchema,
    RescheduleSchema,
)
from backend.api.auth import require_tenant
from backend.api.commerce import (
    CUSTOMER_DOC,
    IDEMPOTENCY_DOC,
    body_customer,
    created,
    customer_scope,
    idempotency,
)
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.pagination import paginated
from backend.api.scopes import requires
from backend.services.bookings.appointments import (
    AppointmentView,
    book,
    cancel,
    get_appointment,
    mark_no_show,
    list_appointments,
    reschedule,
)

blp = Blueprint("appointments", __name__, url_prefix="/v1/appointments",
                description="Appointments")
blp.before_request(require_tenant)
FULL = "The slot is full; the answer's `alternatives` lists the nearest free slots"


@blp.route("")
class Appointments(MethodView):
    @requires("bookings:read")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.arguments(AppointmentQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, AppointmentPageSchema)
    def get(self, customer_id: int | None, **query: Any) -> dict[str, Any]:
        """List appointments by start time (with X-CUSTOMER-REF: only that customer's)"""
        for name in ("start", "end"):
            if query[name] is not None and query[name].tzinfo is None:
                query[name] = query[name].replace(tzinfo=UTC)
        acting = customer_scope()
        return paginated(list_appointments(
            context(), tenant_id(), customer_id=acting or customer_id, **query))

    @requires("bookings:write")
    @blp.doc(security=TENANT_SECURITY, **IDEMPOTENCY_DOC)
    @blp.arguments(AppointmentCreateSchema)
    @blp.response(201, AppointmentSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown customer or service variant")
    @blp.alt_response(409, schema=ErrorSchema, description=FULL)
    @blp.alt_response(422, schema=ErrorSchema, description="Invalid body, or a reused key")
    def post(self, body: dict[str, Any]) -> Any:
        """Book a slot (capacity checked under a lock, so concurrent bookings cannot overbook)"""
        customer_id = body_customer(customer_scope(), body["customer_id"])
        booked = book(context(), tenant_id(), customer_id, body["service_variant_id"],
                      body["starts_at"], body["notes"],
                      idempotency("appointments", body, customer_id))
        return created(booked.appointment, booked.replayed)


@blp.route("/<int:appointment_id>")
class AppointmentById(MethodView):
    @requires("bookings:read")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such appointment")
    def get(self, appointment_id: int) -> AppointmentView:
        """One appointment"""
        return get_appointment(context(), tenant_id(), appointment_id, customer_scope())


@blp.route("/<int:appointment_id>/cancel")
class AppointmentCancel(MethodView):
    @requires("bookings:write")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such appointment")
    @blp.alt_response(409, schema=ErrorSchema, description="Already cancelled")
    def post(self, appointment_id: int) -> AppointmentView:
        """Cancel, freeing the seat"""
        return cancel(context(), tenant_id(), appointment_id, customer_scope())


@blp.route("/<int:appointment_id>/no-show")
class AppointmentNoShow(MethodView):
    @requires("bookings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Acting for a customer")
    @blp.alt_response(404, schema=ErrorSchema, description="No such appointment")
    @blp.alt_response(409, schema=ErrorSchema, description="Not booked, or not started yet")
    def post(self, appointment_id: int) -> AppointmentView:
        """The customer did not come (the merchant records it once the appointment started);
        the customer gets a follow-up"""
        return mark_no_show(context(), tenant_id(), appointment_id, customer_scope())


@blp.route("/<int:appointment_id>/reschedule")
class AppointmentReschedule(MethodView):
    @requires("bookings:write")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.arguments(RescheduleSchema)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such appointment")
    @blp.alt_response(409, schema=ErrorSchema, description=FULL)
    def post(self, body: dict[str, Any], appointment_id: int) -> AppointmentView:
        """Move to another slot of the same service variant"""
        return reschedule(context(), tenant_id(), appointment_id, body["starts_at"],
                          customer_scope())
