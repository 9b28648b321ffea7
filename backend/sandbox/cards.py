"""Card provider simulators: Paystack, Stripe (Checkout Sessions) and Pesapal 3.0.

Each hosts a pretend payment page: POST …/pay with {"outcome": "success"|"failed"} plays the
customer paying (or failing), and the provider then calls the merchant's webhook exactly as it
would: Paystack signed with the secret key (HMAC-SHA512), Stripe with the endpoint secret
(Stripe-Signature), Pesapal with an IPN that must be confirmed with GetTransactionStatus.
Webhook URLs are configured the way the merchant would in the provider's dashboard: Paystack
and Stripe through their API-key-scoped settings endpoints, Pesapal through RegisterIPN.

Saved cards (the platform's subscription renewals): the card entered on the page ({"card":
"4084…"}; a default test card otherwise) is kept, and Paystack's
transaction/charge_authorization and Stripe's off-session PaymentIntents charge it later;
Stripe's PaymentMethod (GET /v1/payment_methods/<id>) tells its brand and last 4 digits, and
Paystack's POST /refund gives a successful charge back (in full or in part, once).
DECLINING_CARDS are saved fine but every later charge is declined for insufficient funds.
Each webhook sent is kept and can be sent again (POST …/webhooks/<reference>/resend), as a
provider retries a delivery.
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
    change,
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


# Test cards: the default ones succeed; these are saved but their later charges are declined
# (insufficient funds), like Stripe's 4000 0000 0000 9995.
GOOD_CARDS = {"paystack": "4084084084084081", "stripe": "4242424242424242"}
DECLINING_CARDS = {"paystack": "4084080000005408", "stripe": "4000000000009995"}


class PaySchema(Schema):
    outcome = fields.Str(load_default="success", validate=validate.OneOf(("success", "failed")))
    duplicates = BoundedInt(load_default=0, validate=validate.Range(min=0, max=20))
    card = fields.Str(load_default=None, validate=validate.Regexp(r"^[0-9]{12,19}$"),
                      metadata={"description": "The card entered (a default test card)"})


def _declines(card: str | None) -> bool:
    return card in DECLINING_CARDS.values()


def _brand(card: str) -> str:
    return "visa" if card.startswith("4") else "mastercard"


def _key_ref(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Paystack ---------------------------------------------------------------------------------

def _deliver(url: str, raw: bytes, headers: dict[str, str], copies: int,
             reference: str | None = None) -> None:
    """POST a signed event to a webhook URL `copies` times, after the request (kept under
    `reference` to be sent again)."""
    if reference is not None:
        sent = (load("webhook-sent", reference) or {}).get("deliveries", [])
        save("webhook-sent", reference, {"deliveries": [
            *sent, {"url": url, "body": raw.decode(), "headers": headers}]})
    for _ in range(copies):
        later(0, lambda: post(url, data=raw, headers=headers))


@blp.route("/<string:provider>/webhooks/<string:reference>/resend")
class ResendWebhooks(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Nothing sent for this reference")
    def post(self, provider: str, reference: str) -> Response:
        """Deliver again, now, every webhook sent about a reference (a provider's retry):
        answers each delivery's HTTP status"""
        sent = (load("webhook-sent", reference) or {}).get("deliveries", [])
        if provider not in ("paystack", "stripe") or not sent:
            return reply({"message": "Nothing was sent about this reference"}, 404)
        statuses = []
        for delivery in sent:
            try:
                answer = requests.post(delivery["url"], data=delivery["body"].encode(),
                                       headers=delivery["headers"], timeout=10)
                statuses.append(answer.status_code)
            except requests.RequestException:
                statuses.append(0)
        return reply({"statuses": statuses})


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
            "metadata": body.get("metadata") or {}, "secret": key,
            "channels": body.get("channels") or ["card", "bank", "ussd", "mobile_money"]})
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
    data = {"reference": reference, "status": record["status"], "amount": record["amount"],
            "currency": record["currency"], "metadata": record["metadata"],
            "gateway_response": record.get("gateway_response") or (
                "Successful" if record["status"] == "success" else "Declined"),
            "customer": {"email": record["email"]}}
    if record.get("authorization"):
        data["authorization"] = record["authorization"]
    return data


def _paystack_authorization(key: str, email: str, card: str) -> dict[str, Any]:
    """A reusable card authorization, kept for charge_authorization."""
    code = new_id("AUTH_")
    save("paystack-authorization", code, {"key": key, "email": email, "card": card})
    return {"authorization_code": code, "bin": card[:6], "last4": card[-4:],
            "exp_month": "12", "exp_year": "2030", "channel": "card", "card_type": _brand(card),
            "bank": "TEST BANK", "country_code": "KE", "brand": _brand(card),
            "reusable": True, "signature": new_id("SIG_")}


def _paystack_webhook(reference: str, record: dict[str, Any], copies: int = 1) -> None:
    hook = load("paystack-webhook", record["key"])
    if not hook:
        return
    event = {"event": "charge.success" if record["status"] == "success" else "charge.failed",
             "data": {"id": int(time.time() * 1000), **_paystack_data(reference, record)}}
    raw = json.dumps(event).encode()
    headers = {"x-paystack-signature": paystack_signature(record["secret"], raw),
               "Content-Type": "application/json"}
    _deliver(hook["url"], raw, headers, copies, reference)


@blp.route("/paystack/transaction/charge_authorization")
class PaystackChargeAuthorization(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Paystack error shape")
    def post(self) -> Response:
        """Charge a saved card's reusable authorization (no customer present); a success is
        followed by the charge.success webhook"""
        key, body = bearer(), json_body() or {}
        if not key or not key.startswith("sk_"):
            return _paystack_error(401, "Invalid key")
        code = str(body.get("authorization_code") or "")
        card = load("paystack-authorization", code) if code else None
        if card is None or card["key"] != _key_ref(key):
            return _paystack_error(400, "Invalid authorization code")
        if str(body.get("email") or "").lower() != card["email"].lower():
            return _paystack_error(400, "Email does not match the authorization")
        try:
            amount = int(body.get("amount"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _paystack_error(400, "Invalid Amount Sent")
        if amount < 100:
            return _paystack_error(400, "Invalid Amount Sent")
        reference = str(body.get("reference") or new_id("T"))
        if load("paystack-transaction", reference):
            return _paystack_error(400, "Duplicate Transaction Reference")
        declined = _declines(card["card"])
        record = {"key": card["key"], "amount": amount, "currency": body.get("currency") or "NGN",
                  "status": "failed" if declined else "success", "email": card["email"],
                  "metadata": body.get("metadata") or {}, "secret": key,
                  "gateway_response": "Insufficient Funds" if declined else "Approved",
                  "authorization": {"authorization_code": code, "last4": card["card"][-4:],
                                    "brand": _brand(card["card"]), "reusable": True,
                                    "channel": "card"}}
        save("paystack-transaction", reference, record)
        if not declined:
            _paystack_webhook(reference, record)
        return reply({"status": True, "message": "Charge attempted",
                      "data": _paystack_data(reference, record)})


@blp.route("/paystack/refund")
class PaystackRefund(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Paystack error shape")
    def post(self) -> Response:
        """Refund a successful transaction (its reference), in full or `amount` of it; a
        transaction refunded in full is refused ("Transaction has been fully reversed")"""
        key, body = bearer(), json_body() or {}
        if not key or not key.startswith("sk_"):
            return _paystack_error(401, "Invalid key")
        reference = str(body.get("transaction") or "")
        refund_id = int(time.time() * 1000)

        def refund(record: dict[str, Any]) -> dict[str, Any] | str:
            if record["key"] != _key_ref(key or ""):
                return "Transaction not found"
            if record["status"] != "success":
                return "Cannot refund a transaction that was not successful"
            left = int(record["amount"]) - int(record.get("refunded", 0))
            if left <= 0:
                return "Transaction has been fully reversed"
            try:
                amount = int(body.get("amount", left))
            except (TypeError, ValueError):
                return "Invalid Amount Sent"
            if amount < 1 or amount > left:
                return "Refund amount cannot be more than the transaction amount left"
            return {"refunded": int(record.get("refunded", 0)) + amount, "refunds": [
                *record.get("refunds", []), {"id": refund_id, "amount": amount}]}

        answer = change("paystack-transaction", reference, refund) if reference else None
        if answer is None or answer == "Transaction not found":
            return _paystack_error(404, "Transaction not found")
        if isinstance(answer, str):
            return _paystack_error(400, answer)
        record = load("paystack-transaction", reference) or {}
        amount = answer["refunds"][-1]["amount"]
        return reply({"status": True, "message": "Refund has been queued for processing",
                      "data": {"id": refund_id, "transaction": {"reference": reference,
                                                                "amount": record["amount"]},
                               "amount": amount, "currency": record["currency"],
                               "status": "pending", "merchant_note": body.get("merchant_note"),
                               "fully_deducted": False}})


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
        record = load("paystack-transaction", reference) or {}
        change: dict[str, Any] = {"status": status}
        if status == "success" and "card" in record.get("channels", ["card"]):
            change["authorization"] = _paystack_authorization(
                record["key"], record["email"], body["card"] or GOOD_CARDS["paystack"])
        save("paystack-transaction", reference, change)
        record = load("paystack-transaction", reference) or {}
        _paystack_webhook(reference, record, 1 + body["duplicates"])
        return reply({"status": True, "message": status, "data": {"reference": reference}})


# --- Stripe -----------------------------------------------------------------------------------

def _stripe_error(status: int, message: str, param: str | None = None,
                  code: str | None = None) -> Response:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message, "param": param}
    if code:
        error["code"] = code
    return reply({"error": error}, status)


def _stripe_key() -> str | None:
    key = bearer()
    if key is None and request.authorization and request.authorization.username:
        key = request.authorization.username
    return key if key and key.startswith("sk_") else None


def _stripe_owned(kind: str, object_id: str, key: str | None) -> dict[str, Any] | None:
    """A stored Stripe object of the account whose secret key is `key`, else None: another
    account's objects do not exist for a caller, as at Stripe."""
    record = load(kind, object_id) if object_id else None
    if key is None or record is None or record["key"] != _key_ref(key):
        return None
    return record


def _new_endpoint(url: str, secret: str | None = None) -> dict[str, Any]:
    """A Stripe webhook endpoint for `url` with a fresh signing secret (whsec_…)."""
    return {"id": new_id("we_"), "object": "webhook_endpoint", "url": url,
            "secret": secret or new_id("whsec_") + new_id(), "status": "enabled"}


def _session_object(session_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"id": session_id, "object": "checkout.session", "mode": record.get("mode", "payment"),
            "url": f"{base_url()}/stripe/pay/{session_id}", "amount_total": record["amount"],
            "currency": record["currency"], "client_reference_id": record["reference"],
            "metadata": record["metadata"], "payment_status": record["payment_status"],
            "status": record["status"], "success_url": record["success_url"],
            "customer": record.get("customer"), "setup_intent": record.get("setup_intent"),
            "payment_intent": record.get("payment_intent")}


def _form_dict(name: str) -> dict[str, str]:
    """A form-encoded hash (`name[key]=value`, as the stripe library sends it)."""
    prefix = f"{name}["
    return {k[len(prefix):-1]: v for k, v in request.form.items()
            if k.startswith(prefix) and k.endswith("]") and "][" not in k[len(prefix):]}


def _stripe_event(kind: str, data_object: dict[str, Any]) -> dict[str, Any]:
    return {"id": new_id("evt_"), "object": "event", "api_version": "2024-06-20",
            "created": int(time.time()), "type": kind, "data": {"object": data_object}}


def _send_stripe(key_ref: str, event: dict[str, Any], copies: int = 1,
                 reference: str | None = None) -> None:
    raw = json.dumps(event).encode()
    for endpoint in (load("stripe-webhooks", key_ref) or {}).get("endpoints", []):
        headers = {"Stripe-Signature": stripe_signature_header(raw, endpoint["secret"]),
                   "Content-Type": "application/json"}
        _deliver(endpoint["url"], raw, headers, copies, reference)


@blp.route("/stripe/v1/customers")
class StripeCustomers(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(401, schema=ProviderReplySchema, description="Stripe error shape")
    def post(self) -> Response:
        """Create a Customer (cards are saved to it)"""
        key = _stripe_key()
        if key is None:
            return _stripe_error(401, "Invalid API Key provided")
        customer = {"id": new_id("cus_"), "object": "customer",
                    "email": request.form.get("email"), "metadata": _form_dict("metadata")}
        save("stripe-customer", customer["id"], {**customer, "key": _key_ref(key)})
        return reply(customer)


def _intent_object(intent_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"id": intent_id, "object": "payment_intent", "amount": record["amount"],
            "currency": record["currency"], "customer": record["customer"],
            "payment_method": record["payment_method"], "status": record["status"],
            "metadata": record["metadata"], "description": record.get("description"),
            "last_payment_error": record.get("last_payment_error")}


@blp.route("/stripe/v1/payment_intents")
class StripePaymentIntents(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(402, schema=ProviderReplySchema, description="card_error: declined")
    def post(self) -> Response:
        """Create a PaymentIntent; with confirm=true and off_session=true a saved card is
        charged at once (402 card_error when declined). An Idempotency-Key seen before answers
        the first answer again, charging nothing."""
        key = _stripe_key()
        if key is None:
            return _stripe_error(401, "Invalid API Key provided")
        idempotency = request.headers.get("Idempotency-Key")
        if idempotency:
            seen = load("stripe-idempotency", f"{_key_ref(key)}:{idempotency}")
            if seen is not None:
                return reply(seen["body"], int(seen["status"]))
        form = request.form
        if form.get("confirm") != "true" or form.get("off_session") != "true":
            return _stripe_error(400, "Only confirm=true, off_session=true is simulated",
                                 "confirm")
        method = _stripe_owned("stripe-payment-method", form.get("payment_method", ""), key)
        if method is None:
            return _stripe_error(400, f"No such PaymentMethod: '{form.get('payment_method')}'",
                                 "payment_method")
        if method["customer"] != form.get("customer"):
            return _stripe_error(400, "The PaymentMethod does not belong to this customer",
                                 "customer")
        try:
            amount = int(form.get("amount", ""))
        except ValueError:
            return _stripe_error(400, "Invalid integer", "amount")
        currency = form.get("currency", "")
        if amount < 50 or not currency or currency != currency.lower():
            return _stripe_error(400, "Invalid amount or currency", "amount")
        intent_id = new_id("pi_")
        declined = _declines(method["card"])
        record = {"amount": amount, "currency": currency, "customer": form["customer"],
                  "payment_method": form["payment_method"], "metadata": _form_dict("metadata"),
                  "description": form.get("description"),
                  "status": "requires_payment_method" if declined else "succeeded"}
        if declined:
            record["last_payment_error"] = {
                "type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds."}
        save("stripe-intent", intent_id, {**record, "key": _key_ref(key)})
        intent = _intent_object(intent_id, record)
        if declined:
            status, body = 402, {"error": {**record["last_payment_error"],
                                           "payment_intent": intent}}
        else:
            status, body = 200, intent
        if idempotency:
            save("stripe-idempotency", f"{_key_ref(key)}:{idempotency}",
                 {"status": status, "body": body})
        kind = "payment_intent.payment_failed" if declined else "payment_intent.succeeded"
        _send_stripe(_key_ref(key), _stripe_event(kind, intent), reference=intent_id)
        return reply(body, status)


@blp.route("/stripe/v1/refunds")
class StripeRefunds(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Stripe error shape")
    def post(self) -> Response:
        """Refund a succeeded PaymentIntent in full or `amount` of it; one refunded in full is
        refused (code charge_already_refunded)"""
        key = _stripe_key()
        if key is None:
            return _stripe_error(401, "Invalid API Key provided")
        intent_id = request.form.get("payment_intent", "")
        wanted = request.form.get("amount")
        refund_id = new_id("re_")

        def refund(record: dict[str, Any]) -> dict[str, Any] | str:
            if record["key"] != _key_ref(key):
                return "missing"
            if record["status"] != "succeeded":
                return "This PaymentIntent has no successful charge to refund"
            left = int(record["amount"]) - int(record.get("refunded", 0))
            if left <= 0:
                return "refunded"
            try:
                amount = int(wanted) if wanted else left
            except ValueError:
                return "Invalid integer"
            if not 0 < amount <= left:
                return f"Refund amount ({amount}) is greater than unrefunded amount ({left})"
            return {"refunded": int(record.get("refunded", 0)) + amount,
                    "refunds": [*record.get("refunds", []), {"id": refund_id, "amount": amount}]}

        answer = change("stripe-intent", intent_id, refund) if intent_id else None
        if answer is None or answer == "missing":
            return _stripe_error(400, f"No such payment_intent: '{intent_id}'", "payment_intent",
                                 "resource_missing")
        if answer == "refunded":
            return _stripe_error(400, f"Charge for {intent_id} has already been refunded.",
                                 None, "charge_already_refunded")
        if isinstance(answer, str):
            return _stripe_error(400, answer, "amount")
        record = load("stripe-intent", intent_id) or {}
        amount = answer["refunds"][-1]["amount"]
        return reply({"id": refund_id, "object": "refund", "amount": amount,
                      "currency": record.get("currency"), "payment_intent": intent_id,
                      "status": "succeeded"})


@blp.route("/stripe/v1/payment_methods/<string:method_id>")
class StripePaymentMethod(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(404, schema=ProviderReplySchema, description="Stripe error shape")
    def get(self, method_id: str) -> Response:
        """Retrieve a PaymentMethod: the saved card's brand and last 4 digits"""
        method = _stripe_owned("stripe-payment-method", method_id, _stripe_key())
        if method is None:
            return _stripe_error(404, f"No such PaymentMethod: '{method_id}'", "id")
        card = method["card"]
        return reply({"id": method_id, "object": "payment_method", "type": "card",
                      "customer": method["customer"], "livemode": False,
                      "card": {"brand": _brand(card), "last4": card[-4:], "exp_month": 12,
                               "exp_year": 2030, "funding": "credit", "country": "KE"}})


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
        if form.get("mode") not in ("payment", "setup"):
            return _stripe_error(400, "Only mode=payment and mode=setup are simulated", "mode")
        if not re.match(r"^https?://", form.get("success_url", "")):
            return _stripe_error(400, "Not a valid URL", "success_url")
        if form["mode"] == "setup":
            return _setup_session(key)
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
        record = _stripe_owned("stripe-session", session_id, _stripe_key())
        if record is None:
            return _stripe_error(404, f"No such checkout.session: '{session_id}'", "id")
        return reply(_session_object(session_id, record))


def _setup_session(key: str) -> Response:
    """A Checkout Session in setup mode: saves a card to an existing customer."""
    form = request.form
    customer = _stripe_owned("stripe-customer", form.get("customer", ""), key)
    if customer is None:
        return _stripe_error(400, f"No such customer: '{form.get('customer')}'", "customer")
    if form.get("payment_method_types[0]", "card") != "card":
        return _stripe_error(400, "Only card is simulated", "payment_method_types")
    session_id = new_id("cs_test_")
    record = {"key": _key_ref(key), "mode": "setup", "amount": None, "currency": None,
              "reference": form.get("client_reference_id"), "metadata": _form_dict("metadata"),
              "intent_metadata": {k[len("setup_intent_data[metadata]["):-1]: v
                                  for k, v in form.items()
                                  if k.startswith("setup_intent_data[metadata][")},
              "customer": customer["id"], "setup_intent": new_id("seti_"),
              "payment_status": "no_payment_required", "status": "open",
              "success_url": form["success_url"]}
    save("stripe-session", session_id, record)
    return reply(_session_object(session_id, record))


def _complete_setup(session_id: str, record: dict[str, Any], card: str, copies: int) -> None:
    """The card entered on a setup page: a PaymentMethod attached to the customer, then
    checkout.session.completed and setup_intent.succeeded."""
    method_id = new_id("pm_")
    save("stripe-payment-method", method_id, {"key": record["key"], "customer": record["customer"],
                                              "card": card})
    intent = {"id": record["setup_intent"], "object": "setup_intent", "status": "succeeded",
              "customer": record["customer"], "payment_method": method_id,
              "usage": "off_session", "metadata": record.get("intent_metadata") or {}}
    _send_stripe(record["key"], _stripe_event("checkout.session.completed",
                                              _session_object(session_id, record)), copies)
    _send_stripe(record["key"], _stripe_event("setup_intent.succeeded", intent), copies,
                 record["setup_intent"])


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
        if record.get("mode") == "setup":
            save("stripe-session", session_id, {"status": "complete" if paid else "expired"})
            record = load("stripe-session", session_id) or record
            if paid:
                _complete_setup(session_id, record, body["card"] or GOOD_CARDS["stripe"],
                                1 + body["duplicates"])
            return reply({"id": session_id, "status": record["status"]})
        paid_with: dict[str, Any] = {}
        if paid and not record.get("payment_intent"):
            # The session's PaymentIntent, which a refund names.
            paid_with["payment_intent"] = new_id("pi_")
            save("stripe-intent", paid_with["payment_intent"], {
                "key": record["key"], "amount": record["amount"],
                "currency": record["currency"], "customer": None, "payment_method": None,
                "metadata": record["metadata"], "status": "succeeded", "refunded": 0})
        save("stripe-session", session_id, {"payment_status": "paid" if paid else "unpaid",
                                            "status": "complete" if paid else "expired",
                                            **paid_with})
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


def configure_webhooks(ctx: Context, provider: str, secret_key: str, url: str,
                       signing_secret: str | None = None) -> str | None:
    """Set up a sandbox account's webhook as its owner would in the provider's dashboard
    (the demo seed and the tests): Paystack's URL; a Stripe endpoint, whose signing secret is
    returned (an existing endpoint for the same URL is reused; `signing_secret`: the one the
    platform is configured with)."""
    reference = _key_ref(secret_key)
    if provider == "paystack":
        save("paystack-webhook", reference, {"url": url}, ctx)
        return None
    endpoints = (load_in(ctx, "stripe-webhooks", reference) or {}).get("endpoints", [])
    for endpoint in endpoints:
        if endpoint["url"] == url:
            return str(endpoint["secret"])
    endpoint = _new_endpoint(url, signing_secret)
    save("stripe-webhooks", reference, {"endpoints": [*endpoints, endpoint]}, ctx)
    return str(endpoint["secret"])
