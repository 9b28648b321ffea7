"""Billing routes: tiers and discount codes (platform operator), the merchant's subscription,
invoices and reminders, and the STK callbacks of subscription charges."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.views import MethodView
from flask.wrappers import Response
from flask_smorest import Blueprint

from backend.api.auth import require_operator, require_tenant
from backend.api.billing.schemas import (
    CardSetupSchema,
    DiscountCreateSchema,
    DiscountPatchSchema,
    DiscountSchema,
    InvoicePageSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
    PaymentMethodSchema,
    ReminderPageSchema,
    SubscriptionPatchSchema,
    SubscriptionSchema,
    TierCreateSchema,
    TierPatchSchema,
    TierSchema,
)
from backend.api.common import (
    SERVICE_SECURITY,
    TENANT_SECURITY,
    ErrorSchema,
    context,
    principal,
    tenant_id,
)
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.payment_webhooks.adapters import mpesa, paystack, stripe
from backend.api.payment_webhooks.routes import AckSchema
from backend.api.scopes import OPERATOR, PUBLIC, requires
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.tiers import Tier
from backend.providers.daraja import parse_stk_callback
from backend.security import constant_time_equals
from backend.services.billing.discounts import (
    DiscountView,
    create_discount,
    get_discount,
    list_discounts,
    update_discount,
)
from backend.services.billing.cards import (
    CardSetupView,
    card_setting,
    get_card_setup,
    paystack_event,
    remove_card,
    start_card_setup,
    stripe_event,
)
from backend.services.billing.renewals import (
    billing_token,
    pay_invoice,
    record_card_event,
    record_stk_result,
)
from backend.services.billing.subscriptions import (
    InvoiceView,
    SubscriptionView,
    change_subscription,
    get_subscription,
    invoice_view,
    list_invoices,
    list_reminders,
)
from backend.services.platform.tiers import create_tier, list_tiers, update_tier

# The operator's routes: the service token until the operator hook (h-operator) lands.
platform_blp = Blueprint("billing_platform", __name__, url_prefix="/v1/platform",
                         description="Tiers and discount codes (platform operator)")
platform_blp.before_request(require_operator)

blp = Blueprint("subscription", __name__, url_prefix="/v1/subscription",
                description="The tenant's subscription, invoices and billing reminders")
blp.before_request(require_tenant)

webhook_blp = Blueprint("billing_webhooks", __name__, url_prefix="/webhooks/mpesa/billing",
                        description="M-Pesa callbacks of subscription charges")

card_webhook_blp = Blueprint("billing_card_webhooks", __name__, url_prefix="/webhooks/billing",
                             description="The platform's Paystack and Stripe events: saved "
                                         "cards and subscription card charges")


@platform_blp.route("/tiers")
class Tiers(MethodView):
    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.response(200, TierSchema(many=True))
    def get(self) -> list[Tier]:
        """Every tier: prices, limits, features, trial days, fee"""
        return list_tiers(context())

    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.arguments(TierCreateSchema)
    @platform_blp.response(201, TierSchema)
    @platform_blp.alt_response(409, schema=ErrorSchema, description="The tier exists")
    def post(self, body: dict[str, Any]) -> Tier:
        """Create a tier"""
        return create_tier(context(), body)


@platform_blp.route("/tiers/<string:name>")
class OneTier(MethodView):
    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.arguments(TierPatchSchema)
    @platform_blp.response(200, TierSchema)
    @platform_blp.alt_response(404, schema=ErrorSchema, description="No such tier")
    def patch(self, changes: dict[str, Any], name: str) -> Tier:
        """Change a tier's prices, limits, features, trial or fee (new prices apply from each
        tenant's next invoice)"""
        return update_tier(context(), name, changes)


@platform_blp.route("/discount-codes")
class DiscountCodes(MethodView):
    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.response(200, DiscountSchema(many=True))
    def get(self) -> list[DiscountView]:
        """Every discount code, newest first, with its redemptions"""
        return list_discounts(context())

    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.arguments(DiscountCreateSchema)
    @platform_blp.response(201, DiscountSchema)
    @platform_blp.alt_response(409, schema=ErrorSchema, description="The code exists")
    def post(self, body: dict[str, Any]) -> DiscountView:
        """Create a discount code (percent or fixed, cycles, expiry, maximum redemptions);
        recorded in the platform's audit log"""
        return create_discount(context(), **body)


@platform_blp.route("/discount-codes/<int:discount_id>")
class OneDiscountCode(MethodView):
    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.response(200, DiscountSchema)
    @platform_blp.alt_response(404, schema=ErrorSchema, description="No such code")
    def get(self, discount_id: int) -> DiscountView:
        """A discount code with its redemptions"""
        return get_discount(context(), discount_id)

    @requires(OPERATOR)
    @platform_blp.doc(security=SERVICE_SECURITY)
    @platform_blp.arguments(DiscountPatchSchema)
    @platform_blp.response(200, DiscountSchema)
    @platform_blp.alt_response(404, schema=ErrorSchema, description="No such code")
    @platform_blp.alt_response(409, schema=ErrorSchema, description=(
        "Code, kind, value or cycles changed after a redemption, or the new code exists"))
    def patch(self, changes: dict[str, Any], discount_id: int) -> DiscountView:
        """Change a code's expiry, maximum redemptions (never fewer than made: 422) or
        deactivate it; its code, kind, value and cycles only while nobody has redeemed it.
        Recorded in the platform's audit log (before and after)"""
        return update_discount(context(), discount_id, changes)


@blp.route("")
class OwnSubscription(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, SubscriptionSchema)
    def get(self) -> SubscriptionView:
        """The subscription: tier, cycle, status, current period, next renewal, payment method"""
        return get_subscription(context(), tenant_id())

    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(SubscriptionPatchSchema)
    @blp.response(200, SubscriptionSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="A discount is already applied")
    def patch(self, changes: dict[str, Any]) -> SubscriptionView:
        """Change tier (422 with the numbers when usage exceeds a lower tier), cycle, billing
        phone, apply a discount code (422 when expired or used up), or cancel"""
        return change_subscription(context(), tenant_id(), changes)


@blp.route("/invoices")
class Invoices(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(InvoiceQuerySchema, location="query")
    @blp.response(200, InvoicePageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The subscription's invoices, newest first"""
        return paginated(list_invoices(context(), tenant_id(), query["page"],
                                       query["page_size"], query.get("status")))


@blp.route("/invoices/<int:invoice_id>/pay")
class PayInvoice(MethodView):
    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(202, InvoiceSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such invoice of this tenant")
    @blp.alt_response(409, schema=ErrorSchema, description="Paid, void, or a request waiting")
    def post(self, invoice_id: int) -> InvoiceView:
        """Pay an open invoice now: an M-Pesa request to the billing phone (its payment lifts a
        suspension)"""
        return invoice_view(pay_invoice(context(), tenant_id(), invoice_id))


@blp.route("/payment-method")
class PaymentMethod(MethodView):
    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PaymentMethodSchema)
    @blp.response(201, CardSetupSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="No email for the provider")
    @blp.alt_response(503, schema=ErrorSchema, description="The provider refused or is off")
    def post(self, body: dict[str, Any]) -> CardSetupView:
        """Save a card for the renewals: answers the provider's page (`url`) where the owner
        enters it (Paystack: a small verification charge, BILLING_CARD_CHECK_MINOR; Stripe: no
        charge). When the provider's webhook confirms it, the card becomes the subscription's
        payment method (replacing an earlier card); a job then refunds Paystack's verification
        charge"""
        return start_card_setup(context(), tenant_id(), body["provider"],
                                user_id=principal().user_id, email=body.get("email"))

    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, SubscriptionSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No card is saved")
    @blp.alt_response(409, schema=ErrorSchema, description="A card charge is in progress")
    def delete(self) -> SubscriptionView:
        """Remove the saved card (its token is deleted): the renewals are charged by M-Pesa to
        the billing phone again. Refused (409) while a card charge is in progress (queued, being
        sent, or awaiting the provider): try again once it is settled"""
        remove_card(context(), tenant_id())
        return get_subscription(context(), tenant_id())


@blp.route("/payment-method/<int:setup_id>")
class OnePaymentMethod(MethodView):
    @requires("settings:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, CardSetupSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such set-up of this tenant")
    def get(self, setup_id: int) -> CardSetupView:
        """A card set-up: pending until the provider's webhook, then active (or failed)"""
        return get_card_setup(context(), tenant_id(), setup_id)


@blp.route("/reminders")
class Reminders(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, ReminderPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Renewal and failed-payment reminders sent to the owner (WhatsApp), newest first"""
        return paginated(list_reminders(context(), tenant_id(), query["page"],
                                        query["page_size"]))


@webhook_blp.route("/<string:token>/<string:key>")
class BillingStkResult(MethodView):
    @requires(PUBLIC)
    @webhook_blp.response(200, AckSchema)
    @webhook_blp.alt_response(404, schema=ErrorSchema, description="Unknown token or charge")
    def post(self, token: str, key: str) -> Response:
        """Daraja STK result of a subscription charge (applied once per charge)"""
        ctx = context()
        mpesa.check_source(ctx.settings.mpesa_callback_ips, request.remote_addr)
        if not constant_time_equals(token, billing_token(ctx)):
            raise NotFound("Unknown callback")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInput("The callback body is not a JSON object")
        try:
            callback = parse_stk_callback(body)
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("Not a Daraja STK callback") from None
        record_stk_result(ctx, key, callback)
        return jsonify(mpesa.ACK)


@card_webhook_blp.route("/paystack")
class BillingPaystackEvent(MethodView):
    @requires(PUBLIC)
    @card_webhook_blp.response(200, AckSchema)
    @card_webhook_blp.alt_response(401, schema=ErrorSchema, description="Bad signature")
    def post(self) -> Response:
        """The platform's Paystack events (x-paystack-signature): a card saved, a renewal
        charged (applied once per charge)"""
        ctx = context()
        callback = paystack.verified_event(card_setting(ctx, "paystack_secret_key"),
                                           request.get_data(cache=True), request.headers, "")
        record_card_event(ctx, "paystack", paystack_event(callback.payload))
        return jsonify(paystack.ACK)


@card_webhook_blp.route("/stripe")
class BillingStripeEvent(MethodView):
    @requires(PUBLIC)
    @card_webhook_blp.response(200, AckSchema)
    @card_webhook_blp.alt_response(400, schema=ErrorSchema, description="Bad or stale signature")
    def post(self) -> Response:
        """The platform's Stripe events (Stripe-Signature): setup_intent.succeeded saves a
        card, payment_intent.succeeded / payment_failed settle a renewal charge (once)"""
        ctx = context()
        callback = stripe.verified_event(card_setting(ctx, "stripe_webhook_secret"),
                                         request.get_data(cache=True), request.headers, "")
        record_card_event(ctx, "stripe", stripe_event(callback.payload))
        return jsonify(stripe.ACK)
