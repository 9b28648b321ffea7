"""Provider callbacks (M-Pesa, Paystack, Stripe, Pesapal): one adapter per provider in
adapters/, thin routes in routes.py."""

from backend.api.payment_webhooks.routes import blp

__all__ = ["blp"]
