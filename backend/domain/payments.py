"""Payment rules free of any framework: methods, statuses, M-Pesa result codes and amounts,
and the Kenyan mobile numbers an STK push can reach."""

from __future__ import annotations

import phonenumbers

from backend.domain.errors import InvalidInput, Unprocessable

MPESA_STK = "mpesa_stk"
MPESA_MANUAL = "mpesa_manual"
CARD = "card"
METHODS = (MPESA_STK, MPESA_MANUAL, CARD)

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
EXPIRED = "expired"
AWAITING_CUSTOMER = "awaiting_customer"
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED, EXPIRED})
OPEN_STATUSES = frozenset({PENDING, AWAITING_CUSTOMER})

CARD_PROVIDERS = ("paystack", "stripe", "pesapal")
STK_MIN_SHILLINGS = 1
STK_MAX_SHILLINGS = 250_000
TIMEOUT = "timeout"
PUSH_FAILED = "push_failed"

# Daraja ResultCode → English reason (the chat words them per language).
MPESA_RESULTS: dict[str, str] = {
    "0": "The payment was completed",
    "1": "Insufficient M-Pesa balance",
    "17": "A similar payment was made less than 2 minutes ago",
    "1019": "The payment request expired before it was answered",
    "1025": "The payment prompt could not be sent",
    "9999": "The payment prompt could not be sent",
    "1032": "The customer cancelled the payment",
    "1037": "The phone could not be reached",
    "2001": "The M-Pesa PIN entered was wrong",
    TIMEOUT: "No answer from the phone in time",
    PUSH_FAILED: "M-Pesa refused the payment request",
}


def mpesa_reason(code: str, fallback: str | None = None) -> str:
    return MPESA_RESULTS.get(code) or fallback or f"M-Pesa result code {code}"


class NotKenyanMobile(Unprocessable):
    """An STK push can only reach a Kenyan mobile number (422)."""


def kenyan_mobile(raw: str, field: str = "phone") -> str:
    """'07…', '01…', '2547…', '+2547…' → '+2547…' (E.164); NotKenyanMobile otherwise."""
    message = (
        "M-Pesa needs a Kenyan mobile number such as 0712 345 678 or +254712345678"
    )
    try:
        parsed = phonenumbers.parse(raw.strip(), "KE")
    except phonenumbers.NumberParseException:
        raise NotKenyanMobile(message, {field: [message]}) from None
    mobile = phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if parsed.country_code != 254 or not phonenumbers.is_valid_number(parsed) or not mobile:
        raise NotKenyanMobile(message, {field: [message]})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def msisdn(e164: str) -> str:
    """'+254712345678' → '254712345678' (Daraja's PartyA/PhoneNumber)."""
    return e164.lstrip("+")


def mask_phone(e164: str) -> str:
    """'+254712345678' → '+254712***678': enough for the customer to recognise their number."""
    return e164[:7] + "***" + e164[-3:] if len(e164) > 10 else "***"


def stk_amount_shillings(amount_minor: int) -> int:
    """M-Pesa takes whole shillings: the order total rounded up to the next shilling."""
    shillings = -(-amount_minor // 100)
    if not STK_MIN_SHILLINGS <= shillings <= STK_MAX_SHILLINGS:
        raise InvalidInput(
            f"M-Pesa takes between KES {STK_MIN_SHILLINGS} and KES {STK_MAX_SHILLINGS:,} "
            f"in one payment; this order is KES {amount_minor / 100:,.2f}"
        )
    return shillings


def order_reference(order_id: int) -> str:
    """The account reference customers type at the paybill (≤ 12 characters)."""
    return f"ORD{order_id}"


def order_id_from_reference(reference: str) -> int | None:
    value = reference.strip().upper()
    if value.startswith("ORD") and value[3:].isdigit():
        return int(value[3:])
    return None
