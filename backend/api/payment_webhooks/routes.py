"""Provider callbacks: each is checked (secret path token, signature on the raw body), stored
once under its provider event id and acknowledged at once; a job applies it.

M-Pesa callbacks are not signed: the tenant's secret token in the path names the tenant, and
MPESA_CALLBACK_IPS (configuration) can restrict the source addresses."""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

import stripe
from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from backend.api.auth import require_service
from backend.api.common import SERVICE_SECURITY, ErrorSchema, context
from backend.api.fields import Count, Id
from backend.api.rate_limits import credential_failed
from backend.domain.errors import InvalidInput, NotFound, Unauthenticated
from backend.queueing.runner import JobQueueUnavailable
from backend.providers import paystack, stripe_checkout
from backend.security import constant_time_equals
from backend.services.payment_settings import (
    load_provider_config,
    payout_token,
    tenant_for_callback_token,
)
from backend.services.payment_webhooks import (
    c2b_validation,
    enqueue_event,
    knows_provider_reference,
    store_event,
)
from backend.services.payouts import queue_payouts

log = logging.getLogger(__name__)
blp = Blueprint("payment_webhooks", __name__, url_prefix="/webhooks",
                description="Payment provider callbacks")
internal_blp = Blueprint("payments_internal", __name__, url_prefix="/internal/v1",
                         description="Payments (platform operator)")
internal_blp.before_request(require_service)
MPESA_ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


class AckSchema(Schema):
    """The acknowledgement each provider expects."""

    class Meta:
        unknown = "include"

    ResultCode = fields.Raw(metadata={"description": "M-Pesa: 0"})
    ResultDesc = fields.Str()


class QueuedSchema(Schema):
    queued = fields.List(Id())


class SweepSchema(Schema):
    expired = Count()
    requeued = Count()


def _ack(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _json() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        raise InvalidInput("The body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body is not a JSON object")
    return body


def _nested_id(body: dict[str, Any], path: tuple[str, ...], refusal: str) -> str:
    """The event id at `path` in a callback body (InvalidInput `refusal` when it is missing)."""
    value: Any = body
    try:
        for key in path:
            value = value[key]
    except (KeyError, TypeError):
        raise InvalidInput(refusal) from None
    return str(value)


def _source_allowed() -> None:
    allowed = context().settings.mpesa_callback_ips
    if not allowed:
        return
    try:
        source = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        raise Unauthenticated("Callback source not allowed") from None
    if not any(source in ipaddress.ip_network(net, strict=False) for net in allowed):
        raise Unauthenticated("Callback source not allowed")


def _tenant(token: str) -> str:
    tenant_id = tenant_for_callback_token(context(), token)
    if tenant_id is None:
        raise _unknown_callback()
    return tenant_id


def _unknown_callback() -> NotFound:
    """A callback URL whose token no tenant has: a guess, counted against the caller's IP."""
    credential_failed()
    return NotFound("Unknown callback URL")


def _store_and_queue(provider: str, event_id: str, kind: str, payload: dict[str, Any],
                     tenant_id: str | None = None, token: str | None = None) -> None:
    ctx = context()
    stored = store_event(ctx, provider, event_id, kind, payload, tenant_id, token)
    if stored is None:
        raise _unknown_callback()
    if stored.duplicate:
        return
    try:
        enqueue_event(ctx, stored.id)
    except JobQueueUnavailable as error:  # stored: the payments sweep queues it again
        log.warning("payment event %s stored but not queued: %s", stored.id, error)


@blp.route("/mpesa/<string:token>/stk")
class MpesaStk(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja STK push result (stored once per CheckoutRequestID)"""
        _source_allowed()
        body = _json()
        checkout = _nested_id(body, ("Body", "stkCallback", "CheckoutRequestID"),
                              "Not an STK callback")
        _store_and_queue("daraja", f"stk:{checkout}", "stk_callback", body, token=token)
        return _ack(MPESA_ACK)


@blp.route("/mpesa/<string:token>/c2b/validation")
class MpesaValidation(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja C2B validation: accept only a pending order's reference at its amount"""
        _source_allowed()
        return _ack(c2b_validation(context(), _tenant(token), _json()))


@blp.route("/mpesa/<string:token>/c2b/confirmation")
class MpesaConfirmation(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja C2B confirmation: a paybill/till payment (stored once per TransID)"""
        _source_allowed()
        body = _json()
        if not body.get("TransID"):
            raise InvalidInput("Not a C2B confirmation")
        _store_and_queue("daraja", f"c2b:{body['TransID']}", "c2b_confirmation", body,
                         token=token)
        return _ack(MPESA_ACK)


def _payout_token(token: str) -> None:
    if not constant_time_equals(token, payout_token(context())):
        raise _unknown_callback()


@blp.route("/mpesa/payouts/<string:token>/result")
class PayoutResult(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja B2C result of a withdrawal payout"""
        _source_allowed()
        _payout_token(token)
        body = _json()
        originator = _nested_id(body, ("Result", "OriginatorConversationID"), "Not a B2C result")
        _store_and_queue("daraja", f"b2c:{originator}", "b2c_result", body, None)
        return _ack(MPESA_ACK)


@blp.route("/mpesa/payouts/<string:token>/timeout")
class PayoutTimeout(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token")
    def post(self, token: str) -> Response:
        """Daraja B2C queue timeout: the payout was not made; the funds go back"""
        _source_allowed()
        _payout_token(token)
        body = _json()
        originator = str((body.get("Result") or {}).get("OriginatorConversationID") or "")
        if not originator:
            raise InvalidInput("Not a B2C timeout")
        result = {"Result": {"OriginatorConversationID": originator, "ResultCode": "timeout",
                             "ResultDesc": "Queue timeout: the payout was not made"}}
        _store_and_queue("daraja", f"b2c:{originator}", "b2c_result", result, None)
        return _ack(MPESA_ACK)


@blp.route("/paystack/<string:token>")
class PaystackWebhook(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="Bad signature")
    def post(self, token: str) -> Response:
        """Paystack event, signed with x-paystack-signature (HMAC-SHA512 of the raw body)"""
        tenant_id = _tenant(token)
        secret = load_provider_config(context(), tenant_id).get("paystack_secret_key") or ""
        raw = request.get_data(cache=True)
        if not secret or not paystack.valid_signature(
                secret, raw, request.headers.get(paystack.SIGNATURE_HEADER)):
            raise Unauthenticated("Invalid Paystack signature")
        body = _json()
        data = body.get("data") or {}
        event_id = f"{body.get('event')}:{data.get('reference')}"
        _store_and_queue("paystack", event_id, str(body.get("event")), body, tenant_id)
        return _ack({"status": "ok"})


@blp.route("/stripe/<string:token>")
class StripeWebhook(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Bad or stale signature")
    def post(self, token: str) -> Response:
        """Stripe event, Stripe-Signature checked by the stripe library (300 s tolerance)"""
        tenant_id = _tenant(token)
        secret = load_provider_config(context(), tenant_id).get("stripe_webhook_secret") or ""
        try:
            event = stripe_checkout.verified_event(
                request.get_data(cache=True),
                request.headers.get(stripe_checkout.SIGNATURE_HEADER), secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidInput(f"Invalid Stripe signature: {error}") from None
        _store_and_queue("stripe", str(event["id"]), str(event.get("type")), event, tenant_id)
        return _ack({"received": True})


@blp.route("/pesapal/<string:token>")
class PesapalIpn(MethodView):
    def _handle(self, token: str, params: dict[str, Any]) -> Response:
        tenant_id = _tenant(token)
        tracking = str(params.get("OrderTrackingId") or "")
        if not tracking:
            raise InvalidInput("OrderTrackingId is required")
        if not knows_provider_reference(context(), tenant_id, "pesapal", tracking):
            # Not an order this shop submitted: refused, nothing stored, nothing retried.
            raise NotFound("Unknown OrderTrackingId")
        kind = str(params.get("OrderNotificationType") or "IPNCHANGE")
        payload = {"OrderTrackingId": tracking, "OrderNotificationType": kind,
                   "OrderMerchantReference": str(params.get("OrderMerchantReference") or "")}
        _store_and_queue("pesapal", f"{tracking}:{kind}", kind, payload, tenant_id)
        return _ack({"orderNotificationType": kind, "orderTrackingId": tracking,
                     "orderMerchantReference": payload["OrderMerchantReference"],
                     "status": 200})

    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token or order")
    def get(self, token: str) -> Response:
        """Pesapal IPN (GET); confirmed with GetTransactionStatus before anything is applied"""
        return self._handle(token, request.args.to_dict())

    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown token or order")
    def post(self, token: str) -> Response:
        """Pesapal IPN (POST); confirmed with GetTransactionStatus before anything is applied"""
        return self._handle(token, _json())


@blp.route("/payments/done")
class CheckoutDone(MethodView):
    @blp.response(200, AckSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Never")
    def get(self) -> Response:
        """Where card checkouts send the customer back: the result comes on WhatsApp"""
        return _ack({"message": "Thank you. You can go back to WhatsApp: your receipt will "
                                "arrive there."})


@internal_blp.route("/payouts/process")
class ProcessPayouts(MethodView):
    @internal_blp.doc(security=SERVICE_SECURITY)
    @internal_blp.response(202, QueuedSchema)
    @internal_blp.alt_response(401, schema=ErrorSchema, description="Not the service token")
    def post(self) -> dict[str, list[int]]:
        """Queue the M-Pesa B2C payouts of every approved withdrawal"""
        return {"queued": queue_payouts(context())}


@internal_blp.route("/payments/sweep")
class SweepPayments(MethodView):
    @internal_blp.doc(security=SERVICE_SECURITY)
    @internal_blp.response(200, SweepSchema)
    @internal_blp.alt_response(401, schema=ErrorSchema, description="Not the service token")
    def post(self) -> dict[str, int]:
        """Expire unanswered STK pushes (after asking Daraja) and requeue stalled events"""
        from backend.services.payment_webhooks import requeue_stale_events
        from backend.services.payments import expire_stk_payments

        ctx = context()
        return {"expired": len(expire_stk_payments(ctx)),
                "requeued": len(requeue_stale_events(ctx))}
