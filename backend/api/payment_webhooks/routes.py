"""Provider callbacks: each provider's adapter checks and parses it (secret path token,
signature on the raw body, source address), the Callback is stored once under its provider
event id and acknowledged at once in the provider's expected shape; a job applies it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from backend.api.common import ErrorSchema, context
from backend.api.payment_webhooks.adapters import mpesa, paystack, pesapal, stripe
from backend.api.payment_webhooks.adapters.common import Callback, json_object
from backend.api.rate_limits import credential_failed
from backend.api.scopes import PUBLIC, requires
from backend.domain.errors import NotFound
from backend.queueing.runner import JobQueueUnavailable
from backend.security import constant_time_equals
from backend.services.payments.settings import (
    load_provider_config,
    payout_token,
    tenant_for_callback_token,
)
from backend.services.payments.webhooks import (
    c2b_validation,
    enqueue_event,
    knows_provider_reference,
    store_event,
)

log = logging.getLogger(__name__)
blp = Blueprint("payment_webhooks", __name__, url_prefix="/webhooks",
                description="Payment provider callbacks")


class AckSchema(Schema):
    """The acknowledgement each provider expects."""

    class Meta:
        unknown = "include"

    ResultCode = fields.Raw(metadata={"description": "M-Pesa: 0"})
    ResultDesc = fields.Str()


def _ack(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _json() -> dict[str, Any]:
    return json_object(request.get_data(cache=True))


def _tenant(token: str) -> str:
    tenant_id = tenant_for_callback_token(context(), token)
    if tenant_id is None:
        raise _unknown_callback()
    return tenant_id


def _unknown_callback() -> NotFound:
    """A callback URL whose token no tenant has: a guess, counted against the caller's IP."""
    credential_failed()
    return NotFound("Unknown callback URL")


def _store_and_queue(callback: Callback) -> None:
    ctx = context()
    stored = store_event(ctx, callback.provider, callback.event_id, callback.kind,
                         callback.payload, callback.tenant_id, callback.token)
    if stored is None:
        raise _unknown_callback()
    if stored.duplicate:
        return
    try:
        enqueue_event(ctx, stored.id)
    except JobQueueUnavailable as error:  # stored: the payments sweep queues it again
        log.warning("payment event %s stored but not queued: %s", stored.id, error)


def _mpesa_source() -> None:
    mpesa.check_source(context().settings.mpesa_callback_ips, request.remote_addr)


def _payout_token(token: str) -> None:
    if not constant_time_equals(token, payout_token(context())):
        raise _unknown_callback()


def _mpesa_callback(parse: Callable[[dict[str, Any]], Callback],
                    payout: str | None = None) -> Response:
    """Every M-Pesa callback: source checked, the payout token when it is one, body parsed,
    stored once and acknowledged."""
    _mpesa_source()
    if payout is not None:
        _payout_token(payout)
    _store_and_queue(parse(_json()))
    return _ack(mpesa.ACK)


@blp.route("/mpesa/<string:token>/stk")
class MpesaStk(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja STK push result (stored once per CheckoutRequestID)"""
        return _mpesa_callback(partial(mpesa.stk_result, token=token))


@blp.route("/mpesa/<string:token>/c2b/validation")
class MpesaValidation(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja C2B validation: accept only a pending order's reference at its amount"""
        _mpesa_source()
        return _ack(c2b_validation(context(), _tenant(token), _json()))


@blp.route("/mpesa/<string:token>/c2b/confirmation")
class MpesaConfirmation(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja C2B confirmation: a paybill/till payment (stored once per TransID)"""
        return _mpesa_callback(partial(mpesa.c2b_confirmation, token=token))


@blp.route("/mpesa/payouts/<string:token>/result")
class PayoutResult(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja B2C result of a withdrawal payout"""
        return _mpesa_callback(mpesa.b2c_result, payout=token)


@blp.route("/mpesa/payouts/<string:token>/timeout")
class PayoutTimeout(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja B2C queue timeout: the payout was not made; the funds go back"""
        return _mpesa_callback(mpesa.b2c_timeout, payout=token)


def _signed_event(token: str, secret_name: str, adapter: Any) -> Response:
    """A card provider's event: the tenant's secret checks the signature, then stored once."""
    tenant_id = _tenant(token)
    secret = load_provider_config(context(), tenant_id).get(secret_name) or ""
    _store_and_queue(adapter.verified_event(
        secret, request.get_data(cache=True), request.headers, tenant_id))
    return _ack(adapter.ACK)


@blp.route("/paystack/<string:token>")
class PaystackWebhook(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Bad signature")
    def post(self, token: str) -> Response:
        """Paystack event, signed with x-paystack-signature (HMAC-SHA512 of the raw body)"""
        return _signed_event(token, "paystack_secret_key", paystack)


@blp.route("/stripe/<string:token>")
class StripeWebhook(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Bad or stale signature")
    def post(self, token: str) -> Response:
        """Stripe event, Stripe-Signature checked by the stripe library (300 s tolerance)"""
        return _signed_event(token, "stripe_webhook_secret", stripe)


@blp.route("/pesapal/<string:token>")
class PesapalIpn(MethodView):
    def _handle(self, token: str, params: dict[str, Any]) -> Response:
        tenant_id = _tenant(token)
        callback = pesapal.notification(params, tenant_id)
        tracking = callback.payload["OrderTrackingId"]
        if not knows_provider_reference(context(), tenant_id, "pesapal", tracking):
            # Not an order this shop submitted: refused, nothing stored, nothing retried.
            raise NotFound("Unknown OrderTrackingId")
        _store_and_queue(callback)
        return _ack(pesapal.ack(callback))

    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token or order")
    def get(self, token: str) -> Response:
        """Pesapal IPN (GET); confirmed with GetTransactionStatus before anything is applied"""
        return self._handle(token, request.args.to_dict())

    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token or order")
    def post(self, token: str) -> Response:
        """Pesapal IPN (POST); confirmed with GetTransactionStatus before anything is applied"""
        return self._handle(token, _json())


@blp.route("/payments/done")
class CheckoutDone(MethodView):
    @requires(PUBLIC)
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Never")
    def get(self) -> Response:
        """Where card checkouts send the customer back: the result comes on WhatsApp"""
        return _ack({"message": "Thank you. You can go back to WhatsApp: your receipt will "
                                "arrive there."})
