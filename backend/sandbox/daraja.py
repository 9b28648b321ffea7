"""Daraja (M-Pesa) simulator: OAuth, STK push and query, C2B register/simulate, B2C.

It validates what Daraja validates (Bearer token, Password = base64(shortcode + passkey +
timestamp) with a Nairobi timestamp, field formats and lengths, amount 1–250,000) and answers
in Daraja's shapes. Outcomes per phone number, set through POST /sandbox/daraja/scenarios:
"0" success, "1" insufficient funds, "1032" cancelled, "1037" unreachable, "2001" wrong PIN,
"timeout" (no callback at all), plus duplicate callbacks and a delay; the simulator's phone
(/app/simulator) sets "hold": the prompt waits until it is answered there (`finish_stk`). Without a scenario a
number ending in 001032, 001037, 002001, 001111 (insufficient funds) or 000408 (timeout) gets
that failure (e.g. 0712 001 032 cancels), else success.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import string
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.api.auth import require_service_or_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema
from backend.api.fields import BoundedInt
from backend.api.scopes import PUBLIC, requires
from backend.providers.daraja import NAIROBI, SANDBOX_PASSKEY, SANDBOX_SHORTCODE, password
from backend.sandbox.common import (
    ProviderReplySchema,
    bearer,
    context,
    json_body,
    later,
    load,
    new_id,
    post,
    reply,
    save,
)
from backend.wiring import Context

blp = Blueprint("daraja_simulator", __name__, url_prefix="/sandbox/daraja",
                description="M-Pesa Daraja simulator (sandbox only)")

PASSKEYS = {SANDBOX_SHORTCODE: SANDBOX_PASSKEY}
TOKEN_SECONDS = 3599
TIMESTAMP_SLACK = timedelta(hours=1)
MSISDN = re.compile(r"^254(7|1)\d{8}$")
SHORTCODE = re.compile(r"^\d{5,7}$")
STK_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
RESULT_DESCRIPTIONS = {
    "0": "The service request is processed successfully.",
    "1": "The balance is insufficient for the transaction.",
    "1032": "Request cancelled by user",
    "1037": "DS timeout user cannot be reached",
    "2001": "The initiator information is invalid.",
}
MAGIC_SUFFIXES = {"001032": "1032", "001037": "1037", "002001": "2001", "001111": "1",
                  "000408": "timeout"}
DEFAULT_DELAY_MS = 300
SCENARIO_RESULTS = ("0", "1", "1032", "1037", "2001", "timeout")
HOLD = "hold"  # set by the simulator's phone only (backend/sandbox/simulator/mpesa.py)


def _error(status: int, code: str, message: str) -> Response:
    return reply({"requestId": new_id(), "errorCode": code, "errorMessage": message}, status)


def _bad(field: str) -> Response:
    return _error(400, "400.002.02", f"Bad Request - Invalid {field}")


def _authorised() -> bool:
    token = bearer()
    record = load("daraja-token", token) if token else None
    return bool(record) and float(record["expires"]) > time.time()  # type: ignore[index]


def _timestamp_ok(stamp: Any) -> bool:
    try:
        moment = datetime.strptime(str(stamp), "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        return False
    return abs(datetime.now(NAIROBI) - moment) <= TIMESTAMP_SLACK


def _check_password(body: dict[str, Any]) -> Response | None:
    shortcode = str(body.get("BusinessShortCode", ""))
    if not SHORTCODE.match(shortcode) or shortcode not in PASSKEYS:
        return _bad("BusinessShortCode")
    if not _timestamp_ok(body.get("Timestamp")):
        return _bad("Timestamp")
    if body.get("Password") != password(shortcode, PASSKEYS[shortcode], str(body["Timestamp"])):
        return _error(400, "400.002.02", "Bad Request - Invalid Password")
    return None


def _stk_body() -> dict[str, Any] | Response:
    """The body of an STK request once its access token, JSON and password are checked, or the
    Daraja error to answer."""
    if not _authorised():
        return _error(404, "404.001.03", "Invalid Access Token")
    body = json_body()
    if body is None:
        return _error(400, "400.002.02", "Bad Request - Invalid JSON")
    refused = _check_password(body)
    return body if refused is None else refused


def _amount(value: Any) -> int | None:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return None
    return int(amount) if amount == int(amount) and 1 <= amount <= 250_000 else None


def _scenario_key(msisdn: str) -> str:
    """Scenarios are found by the phone's keyed hash: the simulator's table holds no phone."""
    return context().crypto.keyed_hash(msisdn)


def scenario_for(msisdn: str) -> dict[str, Any]:
    stored = load("daraja-scenario", _scenario_key(msisdn))
    if stored:
        return stored
    for suffix, result in MAGIC_SUFFIXES.items():
        if msisdn.endswith(suffix):
            return {"result": result, "duplicates": 0, "delay_ms": DEFAULT_DELAY_MS}
    return {"result": "0", "duplicates": 0, "delay_ms": DEFAULT_DELAY_MS}


def receipt_number() -> str:
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=10))


def stk_callback(record: dict[str, Any], result: str, phone: str) -> dict[str, Any]:
    callback: dict[str, Any] = {
        "MerchantRequestID": record["merchant_request_id"],
        "CheckoutRequestID": record["checkout_request_id"],
        "ResultCode": int(result),
        "ResultDesc": RESULT_DESCRIPTIONS.get(result, "Failed"),
    }
    if result == "0":
        callback["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": float(record["amount"])},
            {"Name": "MpesaReceiptNumber", "Value": record["receipt"]},
            {"Name": "Balance"},
            {"Name": "TransactionDate",
             "Value": int(datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S"))},
            {"Name": "PhoneNumber", "Value": int(phone)},
        ]}
    return {"Body": {"stkCallback": callback}}


class ScenarioSchema(Schema):
    phone = fields.Str(required=True, metadata={"description": "MSISDN, 2547XXXXXXXX"})
    result = fields.Str(required=True, validate=validate.OneOf(SCENARIO_RESULTS))
    duplicates = BoundedInt(load_default=0, validate=validate.Range(min=0, max=20))
    delay_ms = BoundedInt(load_default=DEFAULT_DELAY_MS, validate=validate.Range(min=0,
                                                                                  max=600_000))


@blp.before_request
def _control_needs_credentials() -> None:
    """Scenarios steer what simulated phones do: the platform's or a tenant's call only."""
    if request.endpoint == f"{blp.name}.Scenarios":
        require_service_or_tenant()


@blp.route("/scenarios")
class Scenarios(MethodView):
    @requires("payments:settings")
    @blp.doc(security=[{"ServiceToken": []}, *TENANT_SECURITY])
    @blp.arguments(ScenarioSchema)
    @blp.response(200, ScenarioSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="No service token or tenant key")
    @blp.alt_response(422, schema=ErrorSchema, description="Invalid scenario")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set what the simulated phone does with the next STK pushes and B2C payments (the
        service token, or a tenant's API key: the rest of the simulator speaks Daraja's own
        authentication)"""
        save("daraja-scenario", _scenario_key(body["phone"]), {**body, "phone": None})
        return body


@blp.route("/oauth/v1/generate")
class OAuth(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Bad credentials")
    def get(self) -> Response:
        """OAuth: Basic consumer key:secret → {access_token, expires_in}"""
        auth = request.authorization
        if request.args.get("grant_type") != "client_credentials" or auth is None \
                or not auth.username or not auth.password:
            return _error(400, "400.008.01", "Invalid Authentication passed")
        digest = hashlib.sha256(auth.password.encode()).hexdigest()
        app = load("daraja-app", auth.username)
        if app is None:
            save("daraja-app", auth.username, {"secret": digest})
        elif app["secret"] != digest:
            return _error(400, "400.008.01", "Invalid Authentication passed")
        token = base64.b64encode(new_id().encode()).decode()[:28]
        save("daraja-token", token, {"consumer_key": auth.username,
                                     "expires": time.time() + TOKEN_SECONDS})
        return reply({"access_token": token, "expires_in": str(TOKEN_SECONDS)})


@blp.route("/mpesa/stkpush/v1/processrequest")
class StkPush(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Daraja error shape")
    def post(self) -> Response:
        """Lipa na M-Pesa Online: push a payment prompt to a phone"""
        body = _stk_body()
        if isinstance(body, Response):
            return body
        if body.get("TransactionType") not in STK_TYPES:
            return _bad("TransactionType")
        amount = _amount(body.get("Amount"))
        if amount is None:
            return _bad("Amount")
        for field in ("PartyA", "PhoneNumber"):
            if not MSISDN.match(str(body.get(field, ""))):
                return _bad(field)
        if not SHORTCODE.match(str(body.get("PartyB", ""))):
            return _bad("PartyB")
        if not re.match(r"^https?://", str(body.get("CallBackURL", ""))):
            return _bad("CallBackURL")
        if not 1 <= len(str(body.get("AccountReference") or "")) <= 12:
            return _bad("AccountReference")
        if not 1 <= len(str(body.get("TransactionDesc") or "")) <= 13:
            return _bad("TransactionDesc")
        record = {
            "merchant_request_id":
                f"{random.randint(10000, 99999)}-{random.randint(10**6, 10**7)}-1",
            "checkout_request_id": "ws_CO_" + datetime.now(NAIROBI).strftime("%d%m%Y%H%M%S")
            + new_id()[:12],
            "amount": amount, "receipt": receipt_number(),
            # Like every stored phone, encrypted (the callback decrypts it to send it back).
            "phone_encrypted": context().crypto.encrypt(str(body["PhoneNumber"])),
            "callback_url": body["CallBackURL"], "result": None, "created": time.time(),
            # Found again by the simulator's phone (the keyed hash, never the number).
            "phone_hash": _scenario_key(str(body["PhoneNumber"])),
            "account_reference": str(body["AccountReference"]),
            "description": str(body["TransactionDesc"]),
        }
        scenario = scenario_for(str(body["PhoneNumber"]))
        record["scenario"] = scenario
        save("daraja-stk", record["checkout_request_id"], record)
        _schedule_stk_result(record, scenario)
        return reply({
            "MerchantRequestID": record["merchant_request_id"],
            "CheckoutRequestID": record["checkout_request_id"],
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing",
        })


def finish_stk(ctx: Context, record: dict[str, Any], result: str, duplicates: int = 0) -> None:
    """The phone's answer to a prompt: the record's result and the callback (none for a
    prompt left unanswered, "timeout", which STK query then reports as 1037)."""
    if result == "timeout":
        save("daraja-stk", record["checkout_request_id"], {"result": "1037"}, ctx)
        return
    save("daraja-stk", record["checkout_request_id"], {"result": result}, ctx)
    payload = stk_callback(record, result, ctx.crypto.decrypt(record["phone_encrypted"]))
    for _ in range(1 + duplicates):
        post(record["callback_url"], json=payload)


def _schedule_stk_result(record: dict[str, Any], scenario: dict[str, Any]) -> None:
    ctx = context()
    result = str(scenario["result"])
    if result == HOLD:
        return  # the simulator's phone answers it (finish_stk)

    def answer() -> None:
        finish_stk(ctx, record, result, int(scenario.get("duplicates") or 0))

    later(int(scenario.get("delay_ms", DEFAULT_DELAY_MS)) / 1000, answer)


@blp.route("/mpesa/stkpushquery/v1/query")
class StkQuery(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(500, schema=ProviderReplySchema, description="Still being processed")
    def post(self) -> Response:
        """The state of an STK push (HTTP 500, 500.001.1001, while it is being processed)"""
        body = _stk_body()
        if isinstance(body, Response):
            return body
        record = load("daraja-stk", str(body.get("CheckoutRequestID", "")))
        if record is None:
            return _bad("CheckoutRequestID")
        if record.get("result") is None:
            return _error(500, "500.001.1001", "The transaction is being processed")
        result = str(record["result"])
        return reply({
            "ResponseCode": "0", "ResponseDescription": "The service request has been accepted "
            "successsfully", "MerchantRequestID": record["merchant_request_id"],
            "CheckoutRequestID": record["checkout_request_id"], "ResultCode": result,
            "ResultDesc": RESULT_DESCRIPTIONS.get(result, "Failed"),
        })


@blp.route("/mpesa/c2b/v1/registerurl")
class C2BRegister(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Daraja error shape")
    def post(self) -> Response:
        """Register the confirmation and validation URLs of a shortcode"""
        if not _authorised():
            return _error(404, "404.001.03", "Invalid Access Token")
        body = json_body() or {}
        if not SHORTCODE.match(str(body.get("ShortCode", ""))):
            return _bad("ShortCode")
        if body.get("ResponseType") not in ("Completed", "Cancelled"):
            return _bad("ResponseType")
        for field in ("ConfirmationURL", "ValidationURL"):
            if not re.match(r"^https?://", str(body.get(field, ""))):
                return _bad(field)
        save("daraja-c2b", str(body["ShortCode"]), {
            "confirmation_url": body["ConfirmationURL"], "validation_url": body["ValidationURL"]})
        return reply({"OriginatorCoversationID": new_id(), "ResponseCode": "0",
                      "ResponseDescription": "Success"})


@blp.route("/mpesa/c2b/v1/simulate")
class C2BSimulate(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Daraja error shape")
    def post(self) -> Response:
        """A customer pays the paybill/till from their phone: the confirmation is sent"""
        if not _authorised():
            return _error(404, "404.001.03", "Invalid Access Token")
        body = json_body() or {}
        urls = load("daraja-c2b", str(body.get("ShortCode", "")))
        amount = _amount(body.get("Amount"))
        if urls is None:
            return _bad("ShortCode")
        if amount is None:
            return _bad("Amount")
        if not MSISDN.match(str(body.get("Msisdn", ""))):
            return _bad("Msisdn")
        confirmation = {
            "TransactionType": "Pay Bill", "TransID": receipt_number(),
            "TransTime": datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S"),
            "TransAmount": f"{amount}.00", "BusinessShortCode": str(body["ShortCode"]),
            "BillRefNumber": str(body.get("BillRefNumber") or ""), "InvoiceNumber": "",
            "OrgAccountBalance": "", "ThirdPartyTransID": "",
            "MSISDN": hashlib.sha256(str(body["Msisdn"]).encode()).hexdigest(),
            "FirstName": "John", "MiddleName": "", "LastName": "",
        }
        later(0, lambda: post(urls["confirmation_url"], json=confirmation))
        return reply({"OriginatorCoversationID": new_id(), "ResponseCode": "0",
                      "ResponseDescription": "Accept the service request successfully."})


@blp.route("/mpesa/b2c/v3/paymentrequest")
class B2C(MethodView):
    @requires(PUBLIC)
    @blp.response(200, ProviderReplySchema)
    @blp.alt_response(400, schema=ProviderReplySchema, description="Daraja error shape")
    def post(self) -> Response:
        """Pay a phone from a business shortcode; the result is sent to ResultURL"""
        if not _authorised():
            return _error(404, "404.001.03", "Invalid Access Token")
        body = json_body() or {}
        required = ("OriginatorConversationID", "InitiatorName", "SecurityCredential",
                    "QueueTimeOutURL", "ResultURL")
        for field in required:
            if not str(body.get(field) or ""):
                return _bad(field)
        if body.get("CommandID") not in ("BusinessPayment", "SalaryPayment", "PromotionPayment"):
            return _bad("CommandID")
        amount = _amount(body.get("Amount"))
        if amount is None or amount < 10:
            return _bad("Amount")
        if not SHORTCODE.match(str(body.get("PartyA", ""))):
            return _bad("PartyA")
        if not MSISDN.match(str(body.get("PartyB", ""))):
            return _bad("PartyB")
        conversation = "AG_" + datetime.now(NAIROBI).strftime("%Y%m%d") + "_" + new_id()[:16]
        scenario = scenario_for(str(body["PartyB"]))
        result = "0" if scenario["result"] in ("0", "timeout", HOLD) else str(scenario["result"])
        outcome: dict[str, Any] = {"Result": {
            "ResultType": 0, "ResultCode": int(result),
            "ResultDesc": RESULT_DESCRIPTIONS.get(result, "Failed"),
            "OriginatorConversationID": body["OriginatorConversationID"],
            "ConversationID": conversation, "TransactionID": receipt_number(),
            "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL",
                                                "Value": body["QueueTimeOutURL"]}},
        }}
        if result == "0":
            outcome["Result"]["ResultParameters"] = {"ResultParameter": [
                {"Key": "TransactionAmount", "Value": amount},
                {"Key": "TransactionReceipt", "Value": outcome["Result"]["TransactionID"]},
                {"Key": "ReceiverPartyPublicName", "Value": f"{body['PartyB']} - Merchant"},
            ]}
        delay = int(scenario.get("delay_ms", DEFAULT_DELAY_MS)) / 1000
        later(delay, lambda: post(str(body["ResultURL"]), json=outcome))
        return reply({"ConversationID": conversation,
                      "OriginatorConversationID": body["OriginatorConversationID"],
                      "ResponseCode": "0",
                      "ResponseDescription": "Accept the service request successfully."})
