"""The shop's settings: opening hours, quiet hours, language, payment methods and feature flags
(and the Delivery section, backend/web/delivery.py),
read with settings:read and changed with settings:write through the API's schema and service
(PATCH /v1/tenant: TenantSettingsPatchSchema, update_settings_with_usage)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from backend.domain.delivery import FALLBACKS
from backend.domain.money import Money, MoneyError
from backend.domain.tenant_settings import LANGUAGES, LLM_EXHAUSTED_ACTIONS, WEEKDAYS
from backend.interface.inputs import TenantSettingsPatchSchema
from backend.interface.scopes import requires
from backend.services.orders.delivery import get_delivery_settings, list_zones
from backend.services.platform.usage import settings_with_usage, update_settings_with_usage
from backend.web.core import PageError, blp, context, done, page, tenant_id, validated

FLAGS = ("rule_based_intents", "interactive_messages")
PAYMENT_METHODS = ("mpesa_stk", "card_payments")


@blp.get("/settings")
@requires("settings:read")
def shop_settings() -> Response:
    return page("settings.html", shop=settings_with_usage(context(), tenant_id()),
                weekdays=WEEKDAYS, shop_languages=LANGUAGES, flags=FLAGS,
                payment_methods=PAYMENT_METHODS, exhausted_actions=LLM_EXHAUSTED_ACTIONS,
                delivery=get_delivery_settings(context(), tenant_id()),
                zones=list_zones(context(), tenant_id()), fallbacks=FALLBACKS)


def _whole(raw: str) -> Any:
    text = raw.strip()
    return int(text) if text.isdigit() else text


def _form_changes(currency: str) -> dict[str, Any]:
    """The form as PATCH /v1/tenant's body: every day open (with its times) or closed, quiet
    hours or none, the language, and the flags (an unticked box is off)."""
    form = request.form
    hours: dict[str, Any] = {}
    for day in WEEKDAYS:
        hours[day] = None if form.get(f"{day}_closed") == "on" else {
            "open": form.get(f"{day}_open", "").strip(),
            "close": form.get(f"{day}_close", "").strip()}
    quiet = None if form.get("quiet_off") == "on" else {
        "start": form.get("quiet_start", "").strip(), "end": form.get("quiet_end", "").strip()}
    features: dict[str, Any] = {name: form.get(name) == "on" for name in (*FLAGS,
                                                                           *PAYMENT_METHODS)}
    budget = form.get("llm_budget", "").strip().replace(",", "")
    try:
        features["llm_budget_minor_per_month"] = Money.from_major(
            budget or "0", currency).amount_minor
    except MoneyError as error:
        raise PageError(422, "catalog.price_invalid") from error
    features["llm_budget_exhausted_action"] = form.get("llm_budget_exhausted_action", "")
    if form.get("cart_reminder_hours", "").strip():
        features["cart_reminder_hours"] = _whole(form["cart_reminder_hours"])
    return {"primary_language": form.get("primary_language", ""), "business_hours": hours,
            "quiet_hours": quiet, "features": features}


@blp.post("/settings")
@requires("settings:write")
def shop_settings_update() -> Response:
    currency = settings_with_usage(context(), tenant_id())["currency"]
    changes = validated(TenantSettingsPatchSchema(), _form_changes(currency))
    update_settings_with_usage(context(), tenant_id(), changes, as_operator=False)
    return done("web.shop_settings", "settings.saved")
