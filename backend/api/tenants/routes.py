"""Tenant routing for the channel, and the platform operator's view of every tenant."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_service
from backend.api.common import SERVICE_SECURITY, ErrorSchema, context
from backend.api.scopes import SERVICE, requires
from backend.api.tenant_settings.schemas import OperatorTenantPatchSchema, TenantSettingsSchema
from backend.api.tenants.schemas import ResolveQuerySchema, TenantRoutingSchema
from backend.services.platform.usage import settings_with_usage, update_settings_with_usage
from backend.services.platform.tenants import TenantRouting, resolve_by_number

blp = Blueprint(
    "tenants", __name__, url_prefix="/internal/v1/tenants", description="Tenant routing (service)"
)
blp.before_request(require_service)


@blp.route("/resolve")
class ResolveTenant(MethodView):
    @requires(SERVICE)
    @blp.doc(security=SERVICE_SECURITY)
    @blp.arguments(ResolveQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, TenantRoutingSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No tenant uses that number")
    @blp.alt_response(400, schema=ErrorSchema, description="Not a phone number")
    def get(self, number: str, **_: Any) -> TenantRouting:
        """Find the tenant that owns a WhatsApp number"""
        return resolve_by_number(context(), number)


@blp.route("/<string:tenant_id>")
class OperatorTenant(MethodView):
    @requires(SERVICE)
    @blp.doc(security=SERVICE_SECURITY)
    @blp.response(200, TenantSettingsSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def get(self, tenant_id: str) -> dict[str, Any]:
        """A tenant's settings, tier and usage (platform operator)"""
        return settings_with_usage(context(), tenant_id)

    @requires(SERVICE)
    @blp.doc(security=SERVICE_SECURITY)
    @blp.arguments(OperatorTenantPatchSchema)
    @blp.response(200, TenantSettingsSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def patch(self, changes: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        """Change a tenant's settings, including its tier and status (platform operator)"""
        return update_settings_with_usage(context(), tenant_id, changes, as_operator=True)
