"""HTTP layer: blueprints that parse, call one service and serialise; nothing else."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from backend.api.accounts import accept_blp, auth_blp, members_blp, tokens_blp
    from backend.api.analytics import blp as analytics
    from backend.api.api_keys import blp as api_keys
    from backend.api.appointments import blp as appointments
    from backend.api.audit_logs import blp as audit_logs
    from backend.api.campaigns import blp as campaigns
    from backend.api.campaigns import tags_blp as customer_tags
    from backend.api.billing import blp as subscription
    from backend.api.billing import card_webhook_blp as billing_card_webhooks
    from backend.api.billing import platform_blp as billing_platform
    from backend.api.billing import webhook_blp as billing_webhooks
    from backend.api.carts import blp as carts
    from backend.api.conversations import blp as conversations
    from backend.api.conversations import handoff_blp as conversations_internal
    from backend.api.customers import blp as customers
    from backend.api.health import blp as health
    from backend.api.delivery import blp as delivery
    from backend.api.delivery import internal_blp as delivery_internal
    from backend.api.faq import blp as faq
    from backend.api.integrations import blp as integrations
    from backend.api.integrations import webhook_blp as store_webhooks
    from backend.api.kb import blp as kb
    from backend.api.llm import blp as llm
    from backend.api.llm import internal_blp as llm_internal
    from backend.api.messages import blp as messages
    from backend.api.nlu import internal_blp as nlu_internal
    from backend.api.nlu import merchant_blp as nlu
    from backend.api.orders import blp as orders
    from backend.api.outreach import blp as outreach
    from backend.api.outreach import status_blp as twilio_status
    from backend.api.outreach import templates_blp as message_templates
    from backend.api.payment_operations import internal_blp as payments_internal
    from backend.api.payment_webhooks import blp as payment_webhooks
    from backend.api.payments import blp as payments
    from backend.api.platform import blp as platform
    from backend.api.products import blp as products
    from backend.api.services import blp as services
    from backend.api.services import service_variants_blp, windows_blp
    from backend.api.tenant_settings import blp as tenant
    from backend.api.tenants import blp as tenants
    from backend.api.variants import blp as variants
    from backend.api.wallet import blp as wallet

    for blueprint in (health, tenants, platform, messages, products):
        api.register_blueprint(blueprint)
    # the tenant platform
    for blueprint in (tenant, api_keys, customers, conversations, audit_logs, analytics):
        api.register_blueprint(blueprint)
    for blueprint in (conversations_internal, nlu_internal, nlu):  # conversation operations
        api.register_blueprint(blueprint)
    # business-initiated messages
    for blueprint in (outreach, message_templates, twilio_status, campaigns, customer_tags):
        api.register_blueprint(blueprint)
    commerce = (variants, services, service_variants_blp, windows_blp, carts, orders, appointments,
                delivery, delivery_internal)
    for blueprint in commerce:
        api.register_blueprint(blueprint)
    for blueprint in (payments, wallet, payment_webhooks, payments_internal):  # payments
        api.register_blueprint(blueprint)
    for blueprint in (integrations, store_webhooks):  # store integrations
        api.register_blueprint(blueprint)
    for blueprint in (kb, faq, llm, llm_internal):  # knowledge base, FAQ answers, LLM
        api.register_blueprint(blueprint)
    for blueprint in (billing_platform, subscription, billing_webhooks,
                      billing_card_webhooks):  # subscriptions
        api.register_blueprint(blueprint)
    for blueprint in (auth_blp, tokens_blp, members_blp, accept_blp):  # staff accounts
        api.register_blueprint(blueprint)
