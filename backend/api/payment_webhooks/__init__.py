"""Provider callbacks (M-Pesa, Paystack, Stripe, Pesapal) and the operator's payment routes."""

from backend.api.payment_webhooks.routes import blp, internal_blp

__all__ = ["blp", "internal_blp"]
