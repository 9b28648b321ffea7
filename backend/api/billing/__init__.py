"""Subscriptions and billing: the operator's tiers and discount codes, a merchant's subscription,
invoices and reminders, and the platform's M-Pesa callbacks for subscription charges."""

from backend.api.billing.routes import blp, card_webhook_blp, platform_blp, webhook_blp

__all__ = ["blp", "card_webhook_blp", "platform_blp", "webhook_blp"]
