"""Pesapal API 3.0 client: token, RegisterIPN, SubmitOrderRequest, GetTransactionStatus."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

SANDBOX_BASE_URL = "https://cybqa.pesapal.com/pesapalv3"
LIVE_BASE_URL = "https://pay.pesapal.com/v3"
DEFAULT_TIMEOUT_SECONDS = 5.0
TOKEN_SECONDS = 240  # tokens live about 5 minutes; renew a minute early
COMPLETED, FAILED, REVERSED, INVALID = 1, 2, 3, 0

_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


class PesapalError(Exception):
    """Pesapal unreachable, or answering with an error (`status`: its HTTP status, if any)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UnknownOrder(PesapalError):
    """Pesapal answered that it has no such order (its INVALID: a forged or mistaken tracking
    id). Final: asking again cannot change it."""


@dataclass(frozen=True)
class PesapalOrder:
    order_tracking_id: str
    merchant_reference: str
    redirect_url: str


@dataclass(frozen=True)
class PesapalStatus:
    status_code: int
    amount_minor: int
    currency: str
    merchant_reference: str
    confirmation_code: str | None
    description: str


class PesapalClient:
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not (consumer_key and consumer_secret):
            raise PesapalError("Pesapal needs a consumer key and secret")
        self.base_url = base_url.rstrip("/")
        self._key, self._secret = consumer_key, consumer_secret
        self.timeout = timeout

    def _request(self, method: str, path: str, token: str | None, **kwargs: Any
                 ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = requests.request(method, f"{self.base_url}{path}", headers=headers,
                                        timeout=self.timeout, **kwargs)
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise PesapalError(f"Pesapal unreachable or not JSON ({path}): {error}") from error
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code >= 400 or (error and (error.get("code") or error.get("message"))):
            raise PesapalError(f"Pesapal answered {response.status_code} to {path}: {body}",
                               response.status_code)
        return body if isinstance(body, dict) else {"items": body}

    def token(self) -> str:
        key = (self.base_url, self._key)
        with _lock:
            cached = _tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            body = self._request("POST", "/api/Auth/RequestToken", None,
                                 json={"consumer_key": self._key,
                                       "consumer_secret": self._secret})
            _tokens[key] = (str(body["token"]), time.monotonic() + TOKEN_SECONDS)
            return str(body["token"])

    def register_ipn(self, url: str, notification_type: str = "POST") -> str:
        body = self._request("POST", "/api/URLSetup/RegisterIPN", self.token(),
                             json={"url": url, "ipn_notification_type": notification_type})
        return str(body["ipn_id"])

    def submit_order(self, *, merchant_reference: str, amount_minor: int, currency: str,
                     description: str, callback_url: str, notification_id: str,
                     phone: str | None = None, email: str | None = None) -> PesapalOrder:
        billing: dict[str, Any] = {"country_code": "KE"}
        if phone:
            billing["phone_number"] = phone
        if email:
            billing["email_address"] = email
        body = self._request("POST", "/api/Transactions/SubmitOrderRequest", self.token(), json={
            "id": merchant_reference[:50], "currency": currency, "amount": amount_minor / 100,
            "description": description[:100], "callback_url": callback_url,
            "notification_id": notification_id, "billing_address": billing})
        return PesapalOrder(str(body["order_tracking_id"]),
                            str(body.get("merchant_reference") or merchant_reference),
                            str(body["redirect_url"]))

    def transaction_status(self, order_tracking_id: str) -> PesapalStatus:
        """The order's status; UnknownOrder when Pesapal answers that it has no such order (an
        error object with HTTP 200/400/404), PesapalError when it cannot be asked."""
        try:
            body = self._request("GET", "/api/Transactions/GetTransactionStatus", self.token(),
                                 params={"orderTrackingId": order_tracking_id})
        except PesapalError as error:
            if error.status in (200, 400, 404):
                raise UnknownOrder(str(error), error.status) from None
            raise
        return PesapalStatus(
            status_code=int(body.get("status_code") or 0),
            amount_minor=int(round(float(body.get("amount") or 0) * 100)),
            currency=str(body.get("currency") or ""),
            merchant_reference=str(body.get("merchant_reference") or ""),
            confirmation_code=body.get("confirmation_code"),
            description=str(body.get("description") or body.get("payment_status_description")
                            or ""),
        )
