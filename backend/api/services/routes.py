"""Services (CRUD), their variants and availability windows, and free slots."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.appointments.schemas import SlotListSchema, SlotQuerySchema
from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.pagination import paginated
from backend.api.scopes import requires
from backend.api.services.schemas import (
    ServicePageSchema,
    ServicePatchSchema,
    ServiceQuerySchema,
    ServiceSchema,
    ServiceVariantListSchema,
    ServiceVariantPatchSchema,
    ServiceMatchListSchema,
    ServiceMatchQuerySchema,
    ServiceVariantSchema,
    WindowListSchema,
    WindowPatchSchema,
    WindowSchema,
)
from backend.domain.money import Money
from backend.services.bookings import services
from backend.services.bookings.appointments import available_slots
from backend.domain.deposits import DepositRule
from backend.services.bookings.services import NewService, NewServiceVariant, NewWindow
from backend.services.catalog.listing import tenant_currency

blp = Blueprint("services", __name__, url_prefix="/v1/services", description="Services")
blp.before_request(require_tenant)
service_variants_blp = Blueprint("service_variants", __name__, url_prefix="/v1/service-variants",
                                 description="Service variants")
service_variants_blp.before_request(require_tenant)
windows_blp = Blueprint("windows", __name__, url_prefix="/v1/windows",
                        description="Availability windows")
windows_blp.before_request(require_tenant)
NOT_FOUND = {"schema": ErrorSchema, "description": "Not found for this tenant"}


def _variant(body: dict[str, Any], currency: str) -> NewServiceVariant:
    return NewServiceVariant(body["name"], body["duration_minutes"],
                             Money(body["price_minor"], currency))


def _window(body: dict[str, Any]) -> NewWindow:
    return NewWindow(body["starts_at"], body["ends_at"], body["capacity"], body["weekday"],
                     body["on_date"])


@blp.route("")
class Services(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ServiceQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ServicePageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """List services with their variants and windows, by id"""
        return paginated(services.list_services(context(), tenant_id(), **query))

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ServiceSchema)
    @blp.response(201, ServiceSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="The tier's service limit is reached")
    @blp.alt_response(409, schema=ErrorSchema, description="A service with that name exists")
    def post(self, body: dict[str, Any]) -> services.ServiceView:
        """Create a service (optionally with variants and windows)"""
        currency = tenant_currency(context(), tenant_id())
        new = NewService(body["name"], body["description"], body["category"],
                         [_variant(v, currency) for v in body["variants"]],
                         [_window(w) for w in body["windows"]],
                         DepositRule(body["deposit_kind"], body["deposit_value"],
                                     body["hold_minutes"]))
        return services.create_service(context(), tenant_id(), new)


@blp.route("/match")
class ServiceMatch(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ServiceMatchQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ServiceMatchListSchema)
    def get(self, text: str, mode: str, service_id: int | None, limit: int) -> dict[str, Any]:
        """Active services with something to book ranked by fuzzy likeness to what a customer
        wrote ("box braidz", "kunyoa", "nataka kusuka kesho"), with the variant the text names"""
        return {"results": services.match_services(context(), tenant_id(), text, mode,
                                                    service_id, limit)}


@blp.route("/<int:service_id>")
class ServiceById(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ServiceSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, service_id: int) -> services.ServiceView:
        """One service"""
        return services.get_service(context(), tenant_id(), service_id)

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ServicePatchSchema)
    @blp.response(200, ServiceSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="A service with that name exists")
    def patch(self, changes: dict[str, Any], service_id: int) -> services.ServiceView:
        """Change name, description, category or active"""
        return services.update_service(context(), tenant_id(), service_id, changes)

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, **NOT_FOUND)
    def delete(self, service_id: int) -> None:
        """Delete with its variants, windows and appointments (PATCH active=false keeps them)"""
        services.delete_service(context(), tenant_id(), service_id)


@blp.route("/<int:service_id>/variants")
class ServiceVariants(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, ServiceVariantListSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, service_id: int) -> dict[str, Any]:
        """The service's variants"""
        return {"results": services.get_service(context(), tenant_id(), service_id).variants}

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ServiceVariantSchema)
    @blp.response(201, ServiceVariantSchema)
    @blp.alt_response(404, **NOT_FOUND)
    @blp.alt_response(409, schema=ErrorSchema, description="A variant with that name exists")
    def post(self, body: dict[str, Any], service_id: int) -> services.ServiceVariantView:
        """Add a variant (duration, price)"""
        currency = tenant_currency(context(), tenant_id())
        return services.add_service_variant(context(), tenant_id(), service_id,
                                             _variant(body, currency))


@blp.route("/<int:service_id>/windows")
class ServiceWindows(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, WindowListSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, service_id: int) -> dict[str, Any]:
        """The service's availability windows"""
        return {"results": services.list_windows(context(), tenant_id(), service_id)}

    @requires("catalog:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(WindowSchema)
    @blp.response(201, WindowSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def post(self, body: dict[str, Any], service_id: int) -> services.WindowView:
        """Add a window: weekday (0–6) or date, local start and end, capacity"""
        return services.add_window(context(), tenant_id(), service_id, _window(body))


@blp.route("/<int:service_id>/slots")
class ServiceSlots(MethodView):
    @requires("bookings:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(SlotQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, SlotListSchema)
    @blp.alt_response(404, **NOT_FOUND)
    def get(self, service_id: int, first: Any, last: Any,
            variant_id: int | None) -> dict[str, Any]:
        """Free slots between two local dates (inclusive; default the coming 7 days) in the
        tenant's timezone, respecting
        windows, capacity, the variant's duration and business hours"""
        return {"results": available_slots(context(), tenant_id(), service_id, first, last,
                                           variant_id)}


@service_variants_blp.route("/<int:variant_id>")
class ServiceVariantById(MethodView):
    @requires("catalog:read")
    @service_variants_blp.doc(security=TENANT_SECURITY)
    @service_variants_blp.response(200, ServiceVariantSchema)
    @service_variants_blp.alt_response(404, **NOT_FOUND)
    def get(self, variant_id: int) -> services.ServiceVariantView:
        """One service variant"""
        return services.get_service_variant(context(), tenant_id(), variant_id)

    @requires("catalog:write")
    @service_variants_blp.doc(security=TENANT_SECURITY)
    @service_variants_blp.arguments(ServiceVariantPatchSchema)
    @service_variants_blp.response(200, ServiceVariantSchema)
    @service_variants_blp.alt_response(404, **NOT_FOUND)
    @service_variants_blp.alt_response(409, schema=ErrorSchema, description="Name taken")
    def patch(self, changes: dict[str, Any], variant_id: int) -> services.ServiceVariantView:
        """Change name, duration or price"""
        return services.update_service_variant(context(), tenant_id(), variant_id, changes)

    @requires("catalog:write")
    @service_variants_blp.doc(security=TENANT_SECURITY)
    @service_variants_blp.response(204)
    @service_variants_blp.alt_response(404, **NOT_FOUND)
    def delete(self, variant_id: int) -> None:
        """Delete the variant (and its appointments)"""
        services.delete_service_variant(context(), tenant_id(), variant_id)


@windows_blp.route("/<int:window_id>")
class WindowById(MethodView):
    @requires("catalog:read")
    @windows_blp.doc(security=TENANT_SECURITY)
    @windows_blp.response(200, WindowSchema)
    @windows_blp.alt_response(404, **NOT_FOUND)
    def get(self, window_id: int) -> services.WindowView:
        """One availability window"""
        return services.get_window(context(), tenant_id(), window_id)

    @requires("catalog:write")
    @windows_blp.doc(security=TENANT_SECURITY)
    @windows_blp.arguments(WindowPatchSchema)
    @windows_blp.response(200, WindowSchema)
    @windows_blp.alt_response(404, **NOT_FOUND)
    @windows_blp.alt_response(422, schema=ErrorSchema, description="The window would be invalid")
    def patch(self, changes: dict[str, Any], window_id: int) -> services.WindowView:
        """Change a window; the result must still be valid"""
        return services.update_window(context(), tenant_id(), window_id, changes)

    @requires("catalog:write")
    @windows_blp.doc(security=TENANT_SECURITY)
    @windows_blp.response(204)
    @windows_blp.alt_response(404, **NOT_FOUND)
    def delete(self, window_id: int) -> None:
        """Delete a window (its appointments stay booked)"""
        services.delete_window(context(), tenant_id(), window_id)
