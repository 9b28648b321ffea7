"""The tenant's audit log: every write, who made it, from which request."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.audit_logs.schemas import AuditLogPageSchema, AuditQuerySchema
from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, context, tenant_id
from backend.api.pagination import paginated
from backend.api.scopes import requires
from backend.services.platform.audit import list_audit_logs

blp = Blueprint("audit_logs", __name__, url_prefix="/v1/audit-logs", description="Audit log")
blp.before_request(require_tenant)


@blp.route("")
class AuditLogs(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, AuditLogPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """Audit records, newest first; filter by actor, action, target and time"""
        return paginated(list_audit_logs(context(), tenant_id(), **query))
