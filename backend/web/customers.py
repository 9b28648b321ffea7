"""Customers: the list with a search (a name, or a whole phone number), and one customer with
their preferences and consent history (the consent events GET /v1/customers/<id>/consent-events
gives). Phones are shown masked unless the person may export customers (customers:export),
who could read every number in the export anyway. Staff with customers:write record a consent
change the customer asked for elsewhere (a call, the counter) through the API's preferences
schema and service: each change is a consent event naming the person ("merchant:user:<id>",
channel "dashboard"), and the page's write gets the audit record."""

from __future__ import annotations

from flask import Response, request

from backend.domain.payments import mask_phone
from backend.interface.inputs import PageQuerySchema, PreferencesPatchSchema
from backend.interface.scopes import requires
from backend.models import CONSENT_KINDS
from backend.services.accounts.members import list_members
from backend.services.platform.customers import (
    Actor,
    consent_events,
    get_customer,
    list_customers,
    update_preferences,
)
from backend.web.core import blp, context, done, page, page_args, tenant_id, validated, viewer

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
    staff = {f"merchant:user:{m.user_id}": m.name or m.email
             for m in list_members(context(), tenant_id())}
    return page("customer.html", customer=found, events=events, phone_shown=phone_shown,
                staff=staff)


@blp.post("/customers/<int:customer_id>/consents")
@requires("customers:write")
def customer_consents(customer_id: int) -> Response:
    """The three consents as the form's checkboxes say (an unticked box is a no); only the
    ones that change become events."""
    get_customer(context(), tenant_id(), customer_id)  # another shop's: 404 first
    changes = validated(PreferencesPatchSchema(), {
        kind: request.form.get(kind) == "on" for kind in CONSENT_KINDS})
    actor = Actor(name=f"merchant:user:{viewer().signed_in.user_id}", channel="dashboard")
    update_preferences(context(), tenant_id(), customer_id, changes, actor)
    return done("web.customer", "customers.consents_saved", customer_id=customer_id)
