"""A booking's deposit paid: the order paying it is linked to an appointment held
pending_payment. A success confirms the appointment (booked; the customer's confirmation and
reminders follow through the automatic-message outbox); money for a hold already released
(or cancelled) is refunded in full instead — recorded here, sent by the payment sweep's job."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Appointment, Order, Payment
from backend.services.conversations.automatic import note_event
from backend.services.payments.refunds import request_refund

PENDING_PAYMENT, BOOKED = "pending_payment", "booked"


def settle_deposit(session: Session, payment: Payment, order: Order) -> int | None:
    """Called in the transaction that applied the payment's success; returns the id of a refund
    recorded (None otherwise). Orders that pay no appointment are left alone."""
    appointment = session.scalar(select(Appointment).where(
        Appointment.order_id == order.id, Appointment.tenant_id == order.tenant_id)
        .with_for_update())
    if appointment is None:
        return None
    if appointment.status == PENDING_PAYMENT:
        appointment.status = BOOKED
        session.flush()
        note_event(session, appointment.tenant_id, "appointment_booked", appointment.id,
                   appointment.customer_id)
        return None
    if appointment.status == BOOKED:
        return None  # a second payment of the same deposit is handled like any overpayment
    refund_id = request_refund(
        session, payment, f"deposit paid after appointment {appointment.id} was "
                          f"{appointment.status}")
    payment.review_reason = (f"Deposit paid after appointment {appointment.id} was "
                             f"{appointment.status}: refunded")
    return refund_id
