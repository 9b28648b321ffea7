"""Safaricom Daraja (M-Pesa) client: OAuth token (shared and cached per credential set), STK
push and query, C2B URL registration, B2C payouts, and parsers for the callbacks' bodies."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

SANDBOX_BASE_URL = "https://sandbox.safaricom.co.ke"
PRODUCTION_BASE_URL = "https://api.safaricom.co.ke"
NAIROBI = ZoneInfo("Africa/Nairobi")
DEFAULT_TIMEOUT_SECONDS = 5.0
# The public sandbox passkey of shortcode 174379 (Daraja's documentation).
SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"
STILL_PROCESSING = "500.001.1001"
INVALID_TOKEN = "404.001.03"
TOKEN_MARGIN_SECONDS = 60


class DarajaError(Exception):
    """Daraja refused a request or could not be reached (status None)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def timestamp(now: datetime | None = None) -> str:
    """YYYYMMDDHHmmss in Nairobi time."""
    return (now or datetime.now(NAIROBI)).astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def password(shortcode: str, passkey: str, stamp: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{stamp}".encode()).decode()


class _TokenCache:
    """One token per (base URL, credential set) in this process: a new token may invalidate the
    previous one, so every caller shares it until it is about to expire."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        token = self._tokens.get(key)
        return token[0] if token and token[1] > time.monotonic() else None

    def put(self, key: tuple[str, str], token: str, lifetime: float) -> None:
        self._tokens[key] = (token, time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 1))

    def drop(self, key: tuple[str, str], token: str) -> None:
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]

    @property
    def lock(self) -> threading.Lock:
        return self._lock


TOKENS = _TokenCache()


@dataclass(frozen=True)
class StkPushResult:
    merchant_request_id: str
    checkout_request_id: str
    response_code: str
    customer_message: str


@dataclass(frozen=True)
class StkQueryResult:
    pending: bool
    result_code: str | None
    result_desc: str | None


@dataclass(frozen=True)
class StkCallback:
    merchant_request_id: str
    checkout_request_id: str
    result_code: str
    result_desc: str
    amount_minor: int | None
    receipt: str | None
    phone: str | None


@dataclass(frozen=True)
class C2BConfirmation:
    transaction_id: str
    amount_minor: int
    bill_ref: str
    shortcode: str
    transaction_type: str


@dataclass(frozen=True)
class B2CResult:
    originator_conversation_id: str
    conversation_id: str | None
    result_code: str
    result_desc: str
    transaction_id: str | None


class DarajaClient:
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not (base_url and consumer_key and consumer_secret):
            raise DarajaError("Daraja needs a base URL, a consumer key and a consumer secret")
        self.base_url = base_url.rstrip("/")
        self._key = consumer_key
        self._secret = consumer_secret
        self.timeout = timeout

    @property
    def _cache_key(self) -> tuple[str, str]:
        digest = hashlib.sha256(f"{self._key}:{self._secret}".encode()).hexdigest()
        return (self.base_url, digest)

    def token(self) -> str:
        cached = TOKENS.get(self._cache_key)
        if cached:
            return cached
        with TOKENS.lock:
            cached = TOKENS.get(self._cache_key)
            if cached:
                return cached
            try:
                response = requests.get(
                    f"{self.base_url}/oauth/v1/generate",
                    params={"grant_type": "client_credentials"},
                    auth=(self._key, self._secret), timeout=self.timeout,
                )
            except requests.RequestException as error:
                raise DarajaError(f"Daraja unreachable (OAuth): {error}") from error
            body = _json(response)
            if response.status_code != 200 or "access_token" not in body:
                raise DarajaError(f"Daraja OAuth failed: {response.status_code} {body}",
                                  response.status_code, body.get("errorCode"))
            token = str(body["access_token"])
            TOKENS.put(self._cache_key, token, float(body.get("expires_in") or 3599))
            return token

    def _post(self, path: str, payload: dict[str, Any], *, retry_token: bool = True
              ) -> tuple[int, dict[str, Any]]:
        token = self.token()
        try:
            response = requests.post(f"{self.base_url}{path}", json=payload, timeout=self.timeout,
                                     headers={"Authorization": f"Bearer {token}"})
        except requests.RequestException as error:
            raise DarajaError(f"Daraja unreachable ({path}): {error}") from error
        body = _json(response)
        if response.status_code in (401, 404) and body.get("errorCode") == INVALID_TOKEN \
                and retry_token:
            TOKENS.drop(self._cache_key, token)
            return self._post(path, payload, retry_token=False)
        return response.status_code, body

    def stk_push(self, *, shortcode: str, passkey: str, party_b: str, phone: str,
                 amount_shillings: int, callback_url: str, account_reference: str,
                 description: str, till: bool = False, now: datetime | None = None
                 ) -> StkPushResult:
        stamp = timestamp(now)
        payload = {
            "BusinessShortCode": shortcode,
            "Password": password(shortcode, passkey, stamp),
            "Timestamp": stamp,
            "TransactionType": BUY_GOODS if till else PAYBILL,
            "Amount": amount_shillings,
            "PartyA": phone,
            "PartyB": party_b,
            "PhoneNumber": phone,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": description[:13],
        }
        status, body = self._post("/mpesa/stkpush/v1/processrequest", payload)
        if status != 200 or str(body.get("ResponseCode")) != "0":
            raise DarajaError(
                f"STK push refused: {body.get('errorMessage') or body.get('ResponseDescription')}",
                status, str(body.get("errorCode") or body.get("ResponseCode") or ""))
        return StkPushResult(str(body["MerchantRequestID"]), str(body["CheckoutRequestID"]),
                             str(body["ResponseCode"]), str(body.get("CustomerMessage", "")))

    def stk_query(self, *, shortcode: str, passkey: str, checkout_request_id: str,
                  now: datetime | None = None) -> StkQueryResult:
        stamp = timestamp(now)
        status, body = self._post("/mpesa/stkpushquery/v1/query", {
            "BusinessShortCode": shortcode, "Password": password(shortcode, passkey, stamp),
            "Timestamp": stamp, "CheckoutRequestID": checkout_request_id})
        if body.get("errorCode") == STILL_PROCESSING:
            return StkQueryResult(True, None, body.get("errorMessage"))
        if status != 200 or "ResultCode" not in body:
            raise DarajaError(f"STK query failed: {status} {body}", status,
                              body.get("errorCode"))
        return StkQueryResult(False, str(body["ResultCode"]), body.get("ResultDesc"))

    def register_c2b_urls(self, *, shortcode: str, confirmation_url: str, validation_url: str,
                          response_type: str = "Completed") -> dict[str, Any]:
        status, body = self._post("/mpesa/c2b/v1/registerurl", {
            "ShortCode": shortcode, "ResponseType": response_type,
            "ConfirmationURL": confirmation_url, "ValidationURL": validation_url})
        if status != 200:
            raise DarajaError(f"C2B registration failed: {status} {body}", status,
                              body.get("errorCode"))
        return body

    def b2c_payment(self, *, originator_conversation_id: str, initiator: str,
                    security_credential: str, amount_shillings: int, party_a: str, party_b: str,
                    remarks: str, queue_timeout_url: str, result_url: str,
                    occasion: str = "") -> dict[str, Any]:
        status, body = self._post("/mpesa/b2c/v3/paymentrequest", {
            "OriginatorConversationID": originator_conversation_id,
            "InitiatorName": initiator, "SecurityCredential": security_credential,
            "CommandID": "BusinessPayment", "Amount": amount_shillings, "PartyA": party_a,
            "PartyB": party_b, "Remarks": remarks[:100], "QueueTimeOutURL": queue_timeout_url,
            "ResultURL": result_url, "Occasion": occasion[:100]})
        if status != 200 or str(body.get("ResponseCode")) != "0":
            raise DarajaError(f"B2C refused: {status} {body}", status,
                              str(body.get("errorCode") or body.get("ResponseCode") or ""))
        return body


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"errorMessage": response.text[:500]}
    return body if isinstance(body, dict) else {"body": body}


def _shillings_to_minor(value: Any) -> int:
    # Amounts arrive as JSON numbers (1.0) or strings ("1.00"): whole shillings in practice.
    return int(round(float(value) * 100))


def parse_stk_callback(body: dict[str, Any]) -> StkCallback:
    """Read {"Body": {"stkCallback": …}}; KeyError/ValueError on another shape."""
    callback = body["Body"]["stkCallback"]
    items = {item.get("Name"): item.get("Value")
             for item in (callback.get("CallbackMetadata") or {}).get("Item", [])}
    amount = items.get("Amount")
    phone = items.get("PhoneNumber")
    return StkCallback(
        merchant_request_id=str(callback.get("MerchantRequestID", "")),
        checkout_request_id=str(callback["CheckoutRequestID"]),
        result_code=str(callback["ResultCode"]),
        result_desc=str(callback.get("ResultDesc", "")),
        amount_minor=None if amount is None else _shillings_to_minor(amount),
        receipt=None if items.get("MpesaReceiptNumber") is None
        else str(items["MpesaReceiptNumber"]),
        phone=None if phone is None else str(phone),
    )


def parse_c2b(body: dict[str, Any]) -> C2BConfirmation:
    return C2BConfirmation(
        transaction_id=str(body["TransID"]),
        amount_minor=_shillings_to_minor(body["TransAmount"]),
        bill_ref=str(body.get("BillRefNumber") or ""),
        shortcode=str(body.get("BusinessShortCode") or ""),
        transaction_type=str(body.get("TransactionType") or ""),
    )


def parse_b2c_result(body: dict[str, Any]) -> B2CResult:
    result = body["Result"]
    return B2CResult(
        originator_conversation_id=str(result["OriginatorConversationID"]),
        conversation_id=result.get("ConversationID"),
        result_code=str(result["ResultCode"]),
        result_desc=str(result.get("ResultDesc", "")),
        transaction_id=result.get("TransactionID"),
    )
