"""Paying orders (the assistant for its X-CUSTOMER-PHONE customer, merchants for any), reading
payments, and the merchant's payment settings."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.commerce import CUSTOMER_DOC, IDEMPOTENCY_DOC, created, customer_scope, idempotency
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.pagination import paginated
from backend.api.payments.schemas import (
    PaymentCreateSchema,
    PaymentPageSchema,
    PaymentQuerySchema,
    PaymentSchema,
    PaymentSettingsPatchSchema,
    PaymentSettingsSchema,
)
from backend.api.scopes import requires
from backend.domain.errors import Unauthenticated
from backend.services.payments.settings import (
    PaymentSettingsView,
    get_payment_settings,
    update_payment_settings,
)
from backend.services.payments.payments import PaymentView, create_payment, get_payment, list_payments

blp = Blueprint("payments", __name__, url_prefix="/v1", description="Payments")
blp.before_request(require_tenant)


@blp.route("/orders/<int:order_id>/payments")
class OrderPayments(MethodView):
    @requires("orders:read")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.arguments(PaymentQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, PaymentPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such order (for this customer)")
    def get(self, order_id: int, **query: Any) -> dict[str, Any]:
        """The order's payment attempts, newest first"""
        return paginated(list_payments(context(), tenant_id(), order_id, customer_scope(),
                                       **query))

    @requires("orders:write")
    @blp.doc(security=TENANT_SECURITY, **IDEMPOTENCY_DOC)
    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, PaymentSchema)
    @blp.alt_response(403, schema=ErrorSchema,
                      description="The tier has no card payments and the shop no link")
    @requires("orders:write")
    @blp.alt_response(404, schema=ErrorSchema, description="No such order")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="Order not pending payment, or the method is turned off")
    @requires("orders:write")
    @blp.alt_response(422, schema=ErrorSchema,
                      description="Invalid body, not a Kenyan mobile number, or a reused key")
    def post(self, body: dict[str, Any], order_id: int) -> Any:
        """Start paying an order: M-Pesa prompt (queued STK push), paybill/till instructions,
        or a card checkout link"""
        acting = customer_scope()
        made = create_payment(
            context(), tenant_id(), order_id, body["method"], body["phone"], acting,
            idempotency("payments", {**body, "order_id": order_id}, acting or 0))
        return created(made.payment, made.replayed)


@blp.route("/payments/<int:payment_id>")
class PaymentById(MethodView):
    @requires("orders:read")
    @blp.doc(security=TENANT_SECURITY, **CUSTOMER_DOC)
    @blp.response(200, PaymentSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such payment (for this customer)")
    def get(self, payment_id: int) -> PaymentView:
        """One payment attempt"""
        return get_payment(context(), tenant_id(), payment_id, customer_scope())


def _merchant_or_operator() -> None:
    if customer_scope() is not None:
        raise Unauthenticated("Payment settings are for the merchant, not a customer")


@blp.route("/payment-settings")
class PaymentSettingsResource(MethodView):
    @requires("payments:settings")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, PaymentSettingsSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Not the merchant")
    def get(self) -> PaymentSettingsView:
        """The shop's payment settings (credentials are never shown, only whether they are set)"""
        _merchant_or_operator()
        return get_payment_settings(context(), tenant_id())

    @requires("payments:settings")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PaymentSettingsPatchSchema)
    @blp.response(200, PaymentSettingsSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Invalid settings")
    def patch(self, body: dict[str, Any]) -> PaymentSettingsView:
        """Change payment settings; credentials are stored encrypted; null clears a value"""
        _merchant_or_operator()
        return update_payment_settings(context(), tenant_id(), body)
