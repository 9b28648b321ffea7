"""Paystack client: initialize a transaction (a hosted payment page), verify it, charge a saved
card's reusable authorization (transaction/charge_authorization), refund a transaction (POST
/refund), and check the webhook signature (hex HMAC-SHA512 of the raw body keyed with the
secret key)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import requests

BASE_URL = "https://api.paystack.co"
DEFAULT_TIMEOUT_SECONDS = 5.0
SIGNATURE_HEADER = "x-paystack-signature"


class PaystackError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PaystackCheckout:
    authorization_url: str
    access_code: str
    reference: str


@dataclass(frozen=True)
class PaystackAuthorization:
    """A card's authorization (`data.authorization` of a successful charge)."""

    authorization_code: str
    reusable: bool
    brand: str
    last4: str


@dataclass(frozen=True)
class PaystackTransaction:
    reference: str
    status: str  # success, failed, abandoned, ongoing…
    amount_minor: int
    currency: str
    gateway_response: str = ""
    authorization: PaystackAuthorization | None = None


@dataclass(frozen=True)
class PaystackRefund:
    id: str
    status: str  # pending, processing, processed, failed
    amount_minor: int


# How Paystack refuses a refund of a transaction already refunded in full.
FULLY_REVERSED = "fully reversed"


def authorization_of(data: dict[str, Any]) -> PaystackAuthorization | None:
    """The authorization in a transaction's `data` (verify, charge, or a webhook's)."""
    found = data.get("authorization")
    if not isinstance(found, dict) or not found.get("authorization_code"):
        return None
    return PaystackAuthorization(str(found["authorization_code"]), bool(found.get("reusable")),
                                 str(found.get("brand") or found.get("card_type") or "card"),
                                 str(found.get("last4") or ""))


def transaction_of(data: dict[str, Any]) -> PaystackTransaction:
    return PaystackTransaction(str(data["reference"]), str(data["status"]), int(data["amount"]),
                               str(data["currency"]), str(data.get("gateway_response") or ""),
                               authorization_of(data))


def signature(secret_key: str, raw_body: bytes) -> str:
    return hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()


def valid_signature(secret_key: str, raw_body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(signature(secret_key, raw_body), header or "")


class PaystackClient:
    def __init__(self, secret_key: str, base_url: str = BASE_URL,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not secret_key:
            raise PaystackError("Paystack needs the merchant's secret key")
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {secret_key}"}
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = requests.request(method, f"{self.base_url}{path}", headers=self._headers,
                                        timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise PaystackError(f"Paystack unreachable: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:300]}
        if response.status_code >= 400 or not body.get("status"):
            raise PaystackError(f"Paystack answered {response.status_code}: "
                                f"{body.get('message')}", response.status_code)
        return dict(body.get("data") or {})

    def initialize(self, *, email: str, amount_minor: int, currency: str, reference: str,
                   callback_url: str | None = None, metadata: dict[str, Any] | None = None,
                   channels: list[str] | None = None) -> PaystackCheckout:
        payload: dict[str, Any] = {"email": email, "amount": amount_minor, "currency": currency,
                                   "reference": reference, "metadata": metadata or {}}
        if callback_url:
            payload["callback_url"] = callback_url
        if channels:
            payload["channels"] = channels
        data = self._call("POST", "/transaction/initialize", json=payload)
        return PaystackCheckout(data["authorization_url"], data["access_code"], data["reference"])

    def verify(self, reference: str) -> PaystackTransaction:
        return transaction_of(self._call("GET", f"/transaction/verify/{reference}"))

    def charge_authorization(self, *, authorization_code: str, email: str, amount_minor: int,
                             currency: str, reference: str,
                             metadata: dict[str, Any] | None = None) -> PaystackTransaction:
        """Charge a saved card (a reusable authorization) without the customer: `status`
        "success" or "failed" (a decline: `gateway_response` says why); the charge.success
        webhook follows a success. A reference is charged at most once (Paystack refuses a
        duplicate reference)."""
        return transaction_of(self._call("POST", "/transaction/charge_authorization", json={
            "authorization_code": authorization_code, "email": email, "amount": amount_minor,
            "currency": currency, "reference": reference, "metadata": metadata or {}}))

    def refund(self, transaction: str, *, amount_minor: int | None = None,
               merchant_note: str | None = None) -> PaystackRefund:
        """Refund a transaction (its reference or id) in full, or `amount_minor` of it: queued
        at Paystack (status pending). A second full refund is refused (400, "fully
        reversed")."""
        payload: dict[str, Any] = {"transaction": transaction}
        if amount_minor is not None:
            payload["amount"] = amount_minor
        if merchant_note:
            payload["merchant_note"] = merchant_note
        data = self._call("POST", "/refund", json=payload)
        return PaystackRefund(str(data["id"]), str(data.get("status") or "pending"),
                              int(data["amount"]))
