"""What the commerce blueprints share: whose orders/appointments a call sees, Idempotency-Key."""

from __future__ import annotations

from typing import Any

from flask import request

from backend.api.acting import (
    CUSTOMER_HEADER,
    CUSTOMER_HEADERS,
    CUSTOMER_REF_HEADER,
    acting_customer_id,
    names_customer,
)
from backend.api.common import context, principal
from backend.domain.errors import InvalidInput, Unprocessable
from pii.masking import mask_phones

from backend.services.platform.idempotency import MAX_KEY_LENGTH, IdempotencyRequest, request_hash

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": IDEMPOTENCY_HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
            "description": "Repeat a POST safely: the same key and body answer with the same "
            "resource; the same key with another body is 422.",
        },
        {
            "in": "header",
            "name": CUSTOMER_REF_HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": 32},
            "description": "Service token only: act for the customer with this reference "
            "(the one in Rasa's sender id).",
        },
        {
            "in": "header",
            "name": CUSTOMER_HEADER,
            "required": False,
            "schema": {"type": "string"},
            "description": "Service token only: act for this customer (E.164).",
        },
    ]
}
CUSTOMER_DOC = {"parameters": IDEMPOTENCY_DOC["parameters"][1:]}


def customer_scope() -> int | None:
    """The assistant's customer when the service token sends X-CUSTOMER-REF or X-CUSTOMER-PHONE,
    else None (a merchant, or the service acting for the whole tenant, sees every customer)."""
    if principal().is_service and names_customer():
        return acting_customer_id()
    return None


def body_customer(acting: int | None, customer_id: int | None) -> int:
    """Who a new order/appointment is for: the acting customer, or the body's customer_id."""
    if acting is not None:
        if customer_id is not None and customer_id != acting:
            raise InvalidInput("customer_id cannot differ from the acting customer",
                               {"customer_id": [f"Leave it out with {CUSTOMER_HEADERS}."]})
        return acting
    if customer_id is None:
        raise Unprocessable("customer_id is required",
                            {"customer_id": ["Required (or act for a customer with "
                                             f"{CUSTOMER_HEADERS} and the service token)."]})
    return customer_id


def idempotency(endpoint: str, body: Any, customer_id: int) -> IdempotencyRequest | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{IDEMPOTENCY_HEADER} is longer than {MAX_KEY_LENGTH} characters")
    digest = request_hash({"endpoint": endpoint, "customer_id": customer_id, "body": body})
    return IdempotencyRequest(key=stored_key(key), endpoint=endpoint, request_hash=digest)


def stored_key(key: str) -> str:
    """The key as stored: a phone in it ("+2547…:msg:order") becomes its keyed hash, so
    idempotency_keys holds no phone and two customers' keys still differ."""
    crypto = context().crypto
    return mask_phones(key, lambda digits, plus: "ph-" + crypto.keyed_hash(digits)[:16])


def created(view: Any, replayed: bool) -> tuple[Any, int, dict[str, str]]:
    return view, 201, {REPLAYED_HEADER: "true" if replayed else "false"}

