"""Tenant routing for the channel: which merchant owns a WhatsApp number."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_service
from backend.api.common import SERVICE_SECURITY, ErrorSchema, context
from backend.api.tenants.schemas import ResolveQuerySchema, TenantRoutingSchema
from backend.services.tenants import TenantRouting, resolve_by_number

blp = Blueprint(
    "tenants", __name__, url_prefix="/internal/v1/tenants", description="Tenant routing (service)"
)
blp.before_request(require_service)


@blp.route("/resolve")
class ResolveTenant(MethodView):
    @blp.doc(security=SERVICE_SECURITY)
    @blp.arguments(ResolveQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, TenantRoutingSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No tenant uses that number")
    @blp.alt_response(400, schema=ErrorSchema, description="Not a phone number")
    def get(self, number: str, **_: Any) -> TenantRouting:
        """Find the tenant that owns a WhatsApp number"""
        return resolve_by_number(context(), number)
