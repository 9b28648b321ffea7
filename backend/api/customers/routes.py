"""Customers for merchants (API key) and the service; /me routes for the assistant."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.acting import CUSTOMER_HEADER, CUSTOMER_REF_HEADER, acting_customer_id
from backend.api.auth import require_tenant
from backend.api.common import (
    SERVICE_SECURITY,
    TENANT_SECURITY,
    ErrorSchema,
    context,
    principal,
    tenant_id,
)
from backend.api.customers.schemas import (
    ConsentEventPageSchema,
    ConversationPageSchema,
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerSchema,
    PreferencesPatchSchema,
    PreferencesSchema,
)
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.scopes import SERVICE, requires
from backend.services.conversations.conversations import list_conversations
from backend.services.platform.customer_export import COLUMNS, customers_csv, export_customers
from backend.services.platform.customers import (
    Actor,
    CustomerView,
    Preferences,
    consent_events,
    get_customer,
    get_preferences,
    list_customers,
    update_preferences,
)

blp = Blueprint("customers", __name__, url_prefix="/v1/customers", description="Customers")
blp.before_request(require_tenant)
NOT_FOUND = "No such customer for this tenant"
ACTING_DOC = {
    "security": SERVICE_SECURITY,
    "parameters": [
        {"in": "header", "name": CUSTOMER_REF_HEADER, "required": False,
         "schema": {"type": "string", "maxLength": 32},
         "description": "Reference of the customer the assistant acts for (Rasa's sender id)"},
        {"in": "header", "name": CUSTOMER_HEADER, "required": False, "schema": {"type": "string"},
         "description": "Or the E.164 of the customer the assistant acts for"},
    ],
}


def _caller() -> Actor:
    """Who changes preferences through the merchant routes, for the consent audit trail."""
    caller = principal()
    if caller.is_service:
        return Actor(name="service", channel="merchant_api")
    return Actor(name=f"merchant:api_key:{caller.api_key_id}", channel="merchant_api")


@blp.route("")
class Customers(MethodView):
    @requires("customers:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(CustomerQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, CustomerPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """List customers by id, optionally only those with (or without) a consent"""
        return paginated(list_customers(context(), tenant_id(), **query))


@blp.route("/export")
class CustomersExport(MethodView):
    @requires("customers:export")
    @blp.doc(security=TENANT_SECURITY, responses={"200": {
        "description": "A header line (" + ", ".join(COLUMNS) + "), then one line per customer "
                       "by id: the phone in E.164, tags joined with ';', consents true/false, "
                       "first and last seen in ISO 8601 (UTC), orders placed, the total of paid "
                       "orders in minor units",
        "content": {"text/csv": {"schema": {"type": "string"}}}}})
    def get(self) -> Response:
        """Export the tenant's customers as CSV (personal data: the export is audited)"""
        text = customers_csv(export_customers(context(), tenant_id()))
        return Response(text, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="customers-{tenant_id()}.csv"'})


# Registered before /<int:customer_id>; "me" could never match an int anyway.
@blp.route("/me/preferences")
class MyPreferences(MethodView):
    @requires(SERVICE)
    @blp.doc(**ACTING_DOC)
    @blp.response(200, PreferencesSchema)
    def get(self) -> Preferences:
        """The acting customer's preferences (assistant: service token + X-CUSTOMER-REF)"""
        return get_preferences(context(), tenant_id(), acting_customer_id())

    @requires(SERVICE)
    @blp.doc(**ACTING_DOC)
    @blp.arguments(PreferencesPatchSchema)
    @blp.response(200, PreferencesSchema)
    def patch(self, changes: dict[str, Any]) -> Preferences:
        """Change the acting customer's language or consents (audited as the customer, WhatsApp)"""
        customer_id = acting_customer_id()
        actor = Actor(name="customer", channel="whatsapp")
        return update_preferences(context(), tenant_id(), customer_id, changes, actor)


@blp.route("/<int:customer_id>")
class CustomerById(MethodView):
    @requires("customers:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, CustomerSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def get(self, customer_id: int) -> CustomerView:
        """One customer, with the phone number decrypted"""
        return get_customer(context(), tenant_id(), customer_id)


@blp.route("/<int:customer_id>/preferences")
class CustomerPreferences(MethodView):
    @requires("customers:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, PreferencesSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def get(self, customer_id: int) -> Preferences:
        """A customer's language and consents"""
        return get_preferences(context(), tenant_id(), customer_id)

    @requires("customers:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PreferencesPatchSchema)
    @blp.response(200, PreferencesSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def patch(self, changes: dict[str, Any], customer_id: int) -> Preferences:
        """Change a customer's language or consents; each consent change is audited"""
        return update_preferences(context(), tenant_id(), customer_id, changes, _caller())


@blp.route("/<int:customer_id>/consent-events")
class CustomerConsentEvents(MethodView):
    @requires("customers:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ConsentEventPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def get(self, customer_id: int, **query: Any) -> dict[str, Any]:
        """Every consent change of a customer, oldest first: kind, old → new, who, channel, when"""
        return paginated(consent_events(context(), tenant_id(), customer_id, **query))


@blp.route("/<int:customer_id>/conversations")
class CustomerConversations(MethodView):
    @requires("customers:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ConversationPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_FOUND)
    def get(self, customer_id: int, **query: Any) -> dict[str, Any]:
        """A customer's conversations, newest first"""
        return paginated(list_conversations(context(), tenant_id(), customer_id, **query))
