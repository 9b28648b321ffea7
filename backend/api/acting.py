"""The customer the assistant acts for: service token + X-TENANT-ID + X-CUSTOMER-PHONE."""

from __future__ import annotations

from flask import request

from backend.api.common import context, principal, tenant_id
from backend.domain.errors import InvalidInput, Unauthenticated
from backend.domain.phones import to_e164
from backend.services.customers import acting_customer

CUSTOMER_HEADER = "X-CUSTOMER-PHONE"


def acting_customer_id() -> int:
    """Id of the customer named by X-CUSTOMER-PHONE (created on first sight); service token only."""
    if not principal().is_service:
        raise Unauthenticated(f"{CUSTOMER_HEADER} routes are for the assistant's service token")
    raw = request.headers.get(CUSTOMER_HEADER, "").strip()
    if not raw:
        raise InvalidInput(f"{CUSTOMER_HEADER} header is required")
    return acting_customer(context(), tenant_id(), to_e164(raw, field=CUSTOMER_HEADER))
