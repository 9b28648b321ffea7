"""M-Pesa (Daraja): STK push results, C2B confirmations, B2C payout results and timeouts.

Daraja does not sign its callbacks: the secret token in the path names the tenant (the
platform's payout token for B2C), and MPESA_CALLBACK_IPS can restrict the source addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from backend.api.payment_webhooks.adapters.common import Callback
from backend.domain.errors import InvalidInput, Unauthenticated

ACK = {"ResultCode": 0, "ResultDesc": "Accepted"}


def check_source(allowed: Sequence[str], remote_addr: str | None) -> None:
    """Unauthenticated unless the caller's address is in `allowed` (empty: any address)."""
    if not allowed:
        return
    try:
        source = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        raise Unauthenticated("Callback source not allowed") from None
    if not any(source in ipaddress.ip_network(net, strict=False) for net in allowed):
        raise Unauthenticated("Callback source not allowed")


def _nested_id(body: dict[str, Any], path: tuple[str, ...], refusal: str) -> str:
    """The event id at `path` in a callback body (InvalidInput `refusal` when it is missing)."""
    value: Any = body
    try:
        for key in path:
            value = value[key]
    except (KeyError, TypeError):
        raise InvalidInput(refusal) from None
    return str(value)


def stk_result(body: dict[str, Any], token: str) -> Callback:
    """Stored once per CheckoutRequestID."""
    checkout = _nested_id(body, ("Body", "stkCallback", "CheckoutRequestID"),
                          "Not an STK callback")
    return Callback("daraja", f"stk:{checkout}", "stk_callback", body, token=token)


def c2b_confirmation(body: dict[str, Any], token: str) -> Callback:
    """A paybill/till payment, stored once per TransID."""
    if not body.get("TransID"):
        raise InvalidInput("Not a C2B confirmation")
    return Callback("daraja", f"c2b:{body['TransID']}", "c2b_confirmation", body, token=token)


def b2c_result(body: dict[str, Any]) -> Callback:
    """The result of a withdrawal payout, stored once per OriginatorConversationID."""
    originator = _nested_id(body, ("Result", "OriginatorConversationID"), "Not a B2C result")
    return Callback("daraja", f"b2c:{originator}", "b2c_result", body)


def b2c_timeout(body: dict[str, Any]) -> Callback:
    """A queue timeout: the payout was not made, stored as a failed B2C result (funds go back)."""
    originator = str((body.get("Result") or {}).get("OriginatorConversationID") or "")
    if not originator:
        raise InvalidInput("Not a B2C timeout")
    result = {"Result": {"OriginatorConversationID": originator, "ResultCode": "timeout",
                         "ResultDesc": "Queue timeout: the payout was not made"}}
    return Callback("daraja", f"b2c:{originator}", "b2c_result", result)
