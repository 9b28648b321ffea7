"""/v1/integrations: the tenant's WooCommerce and Shopify stores (connect, test, run now,
status and run history, disconnect); /webhooks/stores: their signed product webhooks."""

from backend.api.integrations.routes import blp, webhook_blp

__all__ = ["blp", "webhook_blp"]
