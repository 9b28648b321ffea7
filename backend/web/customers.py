"""Customers: the list with a search (a name, or a whole phone number), and one customer with
their preferences and consent history (the consent events GET /v1/customers/<id>/consent-events
gives). Phones are shown masked unless the person may export customers (customers:export),
who could read every number in the export anyway."""

from __future__ import annotations

from flask import Response, request

from backend.domain.payments import mask_phone
from backend.interface.inputs import PageQuerySchema
from backend.interface.scopes import requires
from backend.services.platform.customers import consent_events, get_customer, list_customers
from backend.web.core import blp, context, page, page_args, tenant_id, validated, viewer

PAGE_SIZE = 25
EVENTS_SHOWN = 100


def phone_shown(e164: str) -> str:
    return e164 if viewer().may("customers:export") else mask_phone(e164)


@blp.get("/customers")
@requires("customers:read")
def customers() -> Response:
    q = request.args.get("q", "").strip()[:100]
    query = validated(PageQuerySchema(), {"page": str(page_args()), "page_size": str(PAGE_SIZE)})
    found = list_customers(context(), tenant_id(), q=q or None, page=query["page"],
                           page_size=query["page_size"])
    return page("customers.html", customers=found, q=q, phone_shown=phone_shown,
                pages=max(1, -(-found.count // PAGE_SIZE)))


@blp.get("/customers/<int:customer_id>")
@requires("customers:read")
def customer(customer_id: int) -> Response:
    found = get_customer(context(), tenant_id(), customer_id)
    events = consent_events(context(), tenant_id(), customer_id, page=1, page_size=EVENTS_SHOWN)
    return page("customer.html", customer=found, events=events, phone_shown=phone_shown)
