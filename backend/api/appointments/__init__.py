"""Appointments: booking, cancelling and rescheduling service slots."""

from backend.api.appointments.routes import blp

__all__ = ["blp"]
