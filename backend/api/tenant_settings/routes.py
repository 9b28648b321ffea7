"""The caller's own tenant: settings a merchant reads and changes (not its tier or status)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.scopes import requires
from backend.api.tenant_settings.schemas import TenantSettingsPatchSchema, TenantSettingsSchema
from backend.services.platform.usage import settings_with_usage, update_settings_with_usage

blp = Blueprint("tenant", __name__, url_prefix="/v1/tenant", description="Tenant settings")
blp.before_request(require_tenant)


@blp.route("")
class OwnTenant(MethodView):
    @requires("settings:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, TenantSettingsSchema)
    def get(self) -> dict[str, Any]:
        """The tenant's settings, tier limits and this month's message count"""
        return settings_with_usage(context(), tenant_id())

    @requires("settings:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(TenantSettingsPatchSchema)
    @blp.response(200, TenantSettingsSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="A setting cannot be used")
    def patch(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings (features are merged; business and quiet hours are replaced)"""
        return update_settings_with_usage(context(), tenant_id(), changes, as_operator=False)
