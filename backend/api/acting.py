"""The customer the assistant acts for: service token + X-TENANT-ID + X-CUSTOMER-REF (the opaque
reference Rasa's sender id carries, issued by the inbound log) or, for tools, X-CUSTOMER-PHONE."""

from __future__ import annotations

from flask import request

from backend.api.common import context, principal, tenant_id
from backend.domain.errors import InvalidInput, Unauthenticated
from backend.domain.phones import to_e164
from backend.models.customer import CUSTOMER_REF_PATTERN
from backend.services.platform.customers import acting_customer, acting_customer_by_ref

CUSTOMER_HEADER = "X-CUSTOMER-PHONE"
CUSTOMER_REF_HEADER = "X-CUSTOMER-REF"
CUSTOMER_HEADERS = f"{CUSTOMER_REF_HEADER} (or {CUSTOMER_HEADER})"


def names_customer() -> bool:
    """The request names the customer it acts for (by reference or by phone)."""
    return any(request.headers.get(h, "").strip() for h in (CUSTOMER_REF_HEADER, CUSTOMER_HEADER))


def acting_customer_id() -> int:
    """Id of the customer named by X-CUSTOMER-REF (unknown: 404) or X-CUSTOMER-PHONE (created on
    first sight); service token only. The reference wins when both are sent."""
    if not principal().is_service:
        raise Unauthenticated(f"{CUSTOMER_HEADERS} routes are for the assistant's service token")
    ref = request.headers.get(CUSTOMER_REF_HEADER, "").strip()
    if ref:
        if not CUSTOMER_REF_PATTERN.match(ref):
            raise InvalidInput(f"{CUSTOMER_REF_HEADER} is not a customer reference",
                               {CUSTOMER_REF_HEADER: ["Not a customer reference."]})
        return acting_customer_by_ref(context(), tenant_id(), ref)
    raw = request.headers.get(CUSTOMER_HEADER, "").strip()
    if not raw:
        raise InvalidInput(f"{CUSTOMER_HEADERS} header is required")
    return acting_customer(context(), tenant_id(), to_e164(raw, field=CUSTOMER_HEADER))
