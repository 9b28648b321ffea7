"""Card provider simulators: Paystack, Stripe (Checkout Sessions) and Pesapal 3.0.

Each hosts a pretend payment page: POST …/pay with {"outcome": "success"|"failed"} plays the
customer paying (or failing), and the provider then calls the merchant's webhook exactly as it
would: Paystack signed with the secret key (HMAC-SHA512), Stripe with the endpoint secret
(Stripe-Signature), Pesapal with an IPN that must be confirmed with GetTransactionStatus.
Webhook URLs are configured the way the merchant would in the provider's dashboard: Paystack
and Stripe through their API-key-scoped settings endpoints, Pesapal through RegisterIPN.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import requests
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.api.common import ErrorSchema
from backend.api.scopes import PUBLIC, requires
from backend.wiring import Context
from backend.api.fields import BoundedInt
from backend.providers.paystack import signature as paystack_signature
from backend.sandbox.common import (
    ProviderReplySchema,
    base_url,
    bearer,
    json_body,
    later,
    load,
    load_in,
    new_id,
    post,
    reply,
    save,
)

blp = Blueprint("card_simulators", __name__, url_prefix="/sandbox",
                description="Paystack, Stripe and Pesapal simulators (sandbox only)")


class PaySchema(Schema):
    outcome = fields.Str(load_default="success", validate=validate.OneOf(("success", "failed")))
    duplicates = BoundedInt(load_default=0, validate=validate.Range(min=0, max=20))


def _key_ref(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Paystack ---------------------------------------------------------------------------------

def _deliver(url: str, raw: bytes, headers: dict[str, str], copies: int) -> None:
    """POST a signed event to a webhook URL `copies` times, after the request."""
    for _ in range(copies):
        later(0, lambda: post(url, data=raw, headers=headers))


def _paystack_error(status: int, message: str) -> Response:
    return reply({"status": False, "message": message}, status)


@blp.route("/paystack/integration/webhook")
class PaystackWebhookUrl(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="No secret key")
    def put(self) -> Response:
        """Dashboard setting: the webhook URL of the integration owning the Bearer secret key"""
        key, body = bearer(), json_body() or {}
        if not key:
            return _paystack_error(401, "Authorization header is missing")
        if not re.match(r"^https?://", str(body.get("url", ""))):
            return _paystack_error(400, "A webhook url is required")
        save("paystack-webhook", _key_ref(key), {"url": body["url"]})
        return reply({"status": True, "message": "Webhook URL saved", "data": {"url": body["url"]}})


@blp.route("/paystack/transaction/initialize")
class PaystackInitialize(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Paystack error shape")
    def post(self) -> Response:
        """Initialize a transaction: a hosted payment page for one amount"""
        key, body = bearer(), json_body() or {}
        if not key or not key.startswith("sk_"):
            return _paystack_error(401, "Invalid key")
        try:
            amount = int(body.get("amount"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _paystack_error(400, "Invalid Amount Sent")
        if amount < 100:
            return _paystack_error(400, "Invalid Amount Sent")
        if "@" not in str(body.get("email", "")):
            return _paystack_error(400, "Invalid Email Address Passed")
        reference = str(body.get("reference") or new_id("T"))
        if load("paystack-transaction", reference):
            return _paystack_error(400, "Duplicate Transaction Reference")
        access_code = new_id()
        save("paystack-transaction", reference, {
            "key": _key_ref(key), "amount": amount, "currency": body.get("currency") or "NGN",
            "status": "ongoing", "email": body["email"], "access_code": access_code,
            "metadata": body.get("metadata") or {}, "secret": key})
        save("paystack-access", access_code, {"reference": reference})
        return reply({"status": True, "message": "Authorization URL created", "data": {
            "authorization_url": f"{base_url()}/paystack/checkout/{access_code}",
            "access_code": access_code, "reference": reference}})


@blp.route("/paystack/transaction/verify/<string:reference>")
class PaystackVerify(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ProviderReplySchema, description="Unknown reference")
    def get(self, reference: str) -> Response:
        """Verify a transaction by reference"""
        key = bearer()
        record = load("paystack-transaction", reference)
        if not key or record is None or record["key"] != _key_ref(key):
            return _paystack_error(404, "Transaction reference not found")
        return reply({"status": True, "message": "Verification successful",
                      "data": _paystack_data(reference, record)})


def _paystack_data(reference: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"reference": reference, "status": record["status"], "amount": record["amount"],
            "currency": record["currency"], "metadata": record["metadata"],
            "gateway_response": "Successful" if record["status"] == "success" else "Declined"}


@blp.route("/paystack/checkout/<string:access_code>/pay")
class PaystackPay(MethodView):
    @requires(PUBLIC)
    @blp.arguments(PaySchema)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown checkout")
    def post(self, body: dict[str, Any], access_code: str) -> Response:
        """The customer pays on the hosted page; the webhook follows"""
        access = load("paystack-access", access_code)
        if access is None:
            return _paystack_error(404, "Checkout not found")
        reference = access["reference"]
        status = "success" if body["outcome"] == "success" else "failed"
        save("paystack-transaction", reference, {"status": status})
        record = load("paystack-transaction", reference) or {}
        hook = load("paystack-webhook", record["key"])
        if hook:
            event = {"event": "charge.success" if status == "success" else "charge.failed",
                     "data": {"id": int(time.time() * 1000), **_paystack_data(reference, record)}}
            raw = json.dumps(event).encode()
            headers = {"x-paystack-signature": paystack_signature(record["secret"], raw),
                       "Content-Type": "application/json"}
            _deliver(hook["url"], raw, headers, 1 + body["duplicates"])
        return reply({"status": True, "message": status, "data": {"reference": reference}})


# --- Stripe -----------------------------------------------------------------------------------

def _stripe_error(status: int, message: str, param: str | None = None) -> Response:
    return reply({"error": {"type": "invalid_request_error", "message": message,
                            "param": param}}, status)


def _stripe_key() -> str | None:
    key = bearer()
    if key is None and request.authorization and request.authorization.username:
        key = request.authorization.username
    return key if key and key.startswith("sk_") else None


def _new_endpoint(url: str) -> dict[str, Any]:
    """A Stripe webhook endpoint for `url` with a fresh signing secret (whsec_…)."""
    return {"id": new_id("we_"), "object": "webhook_endpoint", "url": url,
            "secret": new_id("whsec_") + new_id(), "status": "enabled"}


def _session_object(session_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"id": session_id, "object": "checkout.session", "mode": "payment",
            "url": f"{base_url()}/stripe/pay/{session_id}", "amount_total": record["amount"],
            "currency": record["currency"], "client_reference_id": record["reference"],
            "metadata": record["metadata"], "payment_status": record["payment_status"],
            "status": record["status"], "success_url": record["success_url"]}


@blp.route("/stripe/v1/webhook_endpoints")
class StripeWebhookEndpoints(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Stripe error shape")
    def post(self) -> Response:
        """Create a webhook endpoint; the answer carries its signing secret (whsec_…)"""
        key = _stripe_key()
        if key is None:
            return _stripe_error(401, "Invalid API Key provided")
        url = request.form.get("url", "")
        if not re.match(r"^https?://", url):
            return _stripe_error(400, "Invalid URL", "url")
        endpoint = _new_endpoint(url)
        endpoints = (load("stripe-webhooks", _key_ref(key)) or {}).get("endpoints", [])
        save("stripe-webhooks", _key_ref(key), {"endpoints": [*endpoints, endpoint]})
        return reply(endpoint)


@blp.route("/stripe/v1/checkout/sessions")
class StripeSessions(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Stripe error shape")
    def post(self) -> Response:
        """Create a Checkout Session (form-encoded, as the stripe library sends it)"""
        key = _stripe_key()
        if key is None:
            return _stripe_error(401, "Invalid API Key provided")
        form = request.form
        if form.get("mode") != "payment":
            return _stripe_error(400, "Only mode=payment is simulated", "mode")
        if not re.match(r"^https?://", form.get("success_url", "")):
            return _stripe_error(400, "Not a valid URL", "success_url")
        prefix = "line_items[0]"
        try:
            amount = int(form[f"{prefix}[price_data][unit_amount]"]) * int(
                form.get(f"{prefix}[quantity]", "1"))
            currency = form[f"{prefix}[price_data][currency]"]
        except (KeyError, ValueError):
            return _stripe_error(400, "line_items[0][price_data] is incomplete", "line_items")
        if amount < 50 or currency != currency.lower():
            return _stripe_error(400, "Invalid amount or currency", "line_items")
        metadata = {k[len("metadata["):-1]: v for k, v in form.items()
                    if k.startswith("metadata[")}
        session_id = new_id("cs_test_")
        record = {"key": _key_ref(key), "amount": amount, "currency": currency,
                  "reference": form.get("client_reference_id"), "metadata": metadata,
                  "payment_status": "unpaid", "status": "open",
                  "success_url": form["success_url"]}
        save("stripe-session", session_id, record)
        return reply(_session_object(session_id, record))


@blp.route("/stripe/v1/checkout/sessions/<string:session_id>")
class StripeSession(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ProviderReplySchema, description="Stripe error shape")
    def get(self, session_id: str) -> Response:
        """Retrieve a Checkout Session"""
        key = _stripe_key()
        record = load("stripe-session", session_id)
        if key is None or record is None or record["key"] != _key_ref(key):
            return _stripe_error(404, f"No such checkout.session: '{session_id}'", "id")
        return reply(_session_object(session_id, record))


def stripe_signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


@blp.route("/stripe/pay/<string:session_id>")
class StripePay(MethodView):
    @requires(PUBLIC)
    @blp.arguments(PaySchema)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown session")
    def post(self, body: dict[str, Any], session_id: str) -> Response:
        """The customer completes (or fails) the hosted checkout; webhooks follow"""
        record = load("stripe-session", session_id)
        if record is None:
            return _stripe_error(404, "No such checkout.session", "id")
        paid = body["outcome"] == "success"
        save("stripe-session", session_id, {"payment_status": "paid" if paid else "unpaid",
                                            "status": "complete" if paid else "expired"})
        record = load("stripe-session", session_id) or record
        event = {"id": new_id("evt_"), "object": "event", "api_version": "2024-06-20",
                 "created": int(time.time()),
                 "type": "checkout.session.completed" if paid else "checkout.session.expired",
                 "data": {"object": _session_object(session_id, record)}}
        raw = json.dumps(event).encode()
        for endpoint in (load("stripe-webhooks", record["key"]) or {}).get("endpoints", []):
            headers = {"Stripe-Signature": stripe_signature_header(raw, endpoint["secret"]),
                       "Content-Type": "application/json"}
            _deliver(endpoint["url"], raw, headers, 1 + body["duplicates"])
        return reply({"id": session_id, "payment_status": record["payment_status"]})


# --- Pesapal ----------------------------------------------------------------------------------

def _pesapal_error(message: str, status: int = 200) -> Response:
    # Pesapal reports most errors with HTTP 200 and an "error" object.
    return reply({"error": {"error_type": "api_error", "code": "invalid", "message": message},
                  "status": "500"}, status)


def _pesapal_client() -> str | None:
    token = bearer()
    record = load("pesapal-token", token) if token else None
    if record is None or float(record["expires"]) < time.time():
        return None
    return str(record["consumer_key"])


@blp.route("/pesapal/api/Auth/RequestToken")
class PesapalToken(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Pesapal error shape")
    def post(self) -> Response:
        """Consumer key and secret → a token valid about 5 minutes"""
        body = json_body() or {}
        key, secret = str(body.get("consumer_key") or ""), str(body.get("consumer_secret") or "")
        if not key or not secret:
            return _pesapal_error("Invalid consumer key or secret", 401)
        known = load("pesapal-app", key)
        digest = _key_ref(secret)
        if known is None:
            save("pesapal-app", key, {"secret": digest})
        elif known["secret"] != digest:
            return _pesapal_error("Invalid consumer key or secret", 401)
        token = new_id() + new_id()
        save("pesapal-token", token, {"consumer_key": key, "expires": time.time() + 300})
        return reply({"token": token, "expiryDate": time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 300)), "error": None,
            "status": "200", "message": "Request processed successfully"})


@blp.route("/pesapal/api/URLSetup/RegisterIPN")
class PesapalRegisterIpn(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Pesapal error shape")
    def post(self) -> Response:
        """Register the IPN URL → ipn_id"""
        client = _pesapal_client()
        if client is None:
            return _pesapal_error("Invalid token", 401)
        body = json_body() or {}
        if not re.match(r"^https?://", str(body.get("url", ""))) or \
                body.get("ipn_notification_type") not in ("GET", "POST"):
            return _pesapal_error("url and ipn_notification_type (GET|POST) are required")
        ipn_id = new_id()
        save("pesapal-ipn", ipn_id, {"url": body["url"], "type": body["ipn_notification_type"],
                                     "consumer_key": client})
        return reply({"url": body["url"], "ipn_id": ipn_id, "ipn_status": 1, "error": None,
                      "status": "200"})


@blp.route("/pesapal/api/Transactions/SubmitOrderRequest")
class PesapalSubmitOrder(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Pesapal error shape")
    def post(self) -> Response:
        """Create an order → order_tracking_id and the redirect URL of the payment page"""
        client = _pesapal_client()
        if client is None:
            return _pesapal_error("Invalid token", 401)
        body = json_body() or {}
        reference = str(body.get("id") or "")
        if not 1 <= len(reference) <= 50:
            return _pesapal_error("id is required (at most 50 characters)")
        if len(str(body.get("description") or "")) > 100:
            return _pesapal_error("description is longer than 100 characters")
        ipn = load("pesapal-ipn", str(body.get("notification_id") or ""))
        if ipn is None or ipn["consumer_key"] != client:
            return _pesapal_error("Invalid notification_id")
        try:
            amount = float(body.get("amount"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _pesapal_error("Invalid amount")
        tracking = new_id()
        save("pesapal-order", tracking, {
            "consumer_key": client, "reference": reference, "amount": amount,
            "currency": body.get("currency") or "KES", "status_code": 0,
            "notification_id": body["notification_id"]})
        return reply({"order_tracking_id": tracking, "merchant_reference": reference,
                      "redirect_url": f"{base_url()}/pesapal/pay/{tracking}", "error": None,
                      "status": "200"})


@blp.route("/pesapal/api/Transactions/GetTransactionStatus")
class PesapalStatus(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Pesapal error shape")
    def get(self) -> Response:
        """The status of an order: status_code 0 invalid, 1 completed, 2 failed, 3 reversed"""
        client = _pesapal_client()
        if client is None:
            return _pesapal_error("Invalid token", 401)
        tracking = request.args.get("orderTrackingId", "")
        order = load("pesapal-order", tracking)
        if order is None or order["consumer_key"] != client:
            return _pesapal_error("Invalid orderTrackingId")
        code = int(order["status_code"])
        return reply({
            "payment_method": "Visa" if code else "", "amount": order["amount"],
            "created_date": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "confirmation_code": order.get("confirmation_code"),
            "payment_status_description": {0: "INVALID", 1: "COMPLETED", 2: "FAILED",
                                           3: "REVERSED"}[code],
            "description": "", "message": "Request processed successfully",
            "merchant_reference": order["reference"], "currency": order["currency"],
            "status_code": code, "status": "200", "error": None})


@blp.route("/pesapal/pay/<string:tracking_id>")
class PesapalPay(MethodView):
    @requires(PUBLIC)
    @blp.arguments(PaySchema)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown order")
    def post(self, body: dict[str, Any], tracking_id: str) -> Response:
        """The customer pays (or fails) on the Pesapal page; the IPN follows"""
        order = load("pesapal-order", tracking_id)
        if order is None:
            return _pesapal_error("Invalid orderTrackingId", 404)
        paid = body["outcome"] == "success"
        save("pesapal-order", tracking_id, {"status_code": 1 if paid else 2,
                                           "confirmation_code": new_id()[:12] if paid else None})
        ipn = load("pesapal-ipn", order["notification_id"]) or {}
        params = {"OrderTrackingId": tracking_id, "OrderMerchantReference": order["reference"],
                  "OrderNotificationType": "IPNCHANGE"}
        for _ in range(1 + body["duplicates"]):
            if ipn.get("type") == "GET":
                later(0, lambda: _get(ipn["url"], params))
            else:
                later(0, lambda: post(ipn["url"], json=params))
        return reply({"order_tracking_id": tracking_id, "status_code": 1 if paid else 2})


def _get(url: str, params: dict[str, str]) -> None:
    try:
        requests.get(url, params=params, timeout=10)
    except requests.RequestException:
        pass  # Pesapal retries IPNs later; the merchant can also query the status


def configure_webhooks(ctx: Context, provider: str, secret_key: str, url: str) -> str | None:
    """Set up a sandbox account's webhook as its owner would in the provider's dashboard
    (the demo seed and the tests): Paystack's URL; a Stripe endpoint, whose signing secret is
    returned (an existing endpoint for the same URL is reused)."""
    reference = _key_ref(secret_key)
    if provider == "paystack":
        save("paystack-webhook", reference, {"url": url}, ctx)
        return None
    endpoints = (load_in(ctx, "stripe-webhooks", reference) or {}).get("endpoints", [])
    for endpoint in endpoints:
        if endpoint["url"] == url:
            return str(endpoint["secret"])
    endpoint = _new_endpoint(url)
    save("stripe-webhooks", reference, {"endpoints": [*endpoints, endpoint]}, ctx)
    return str(endpoint["secret"])
