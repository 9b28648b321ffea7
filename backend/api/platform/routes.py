"""The platform operator's endpoints: onboard tenants, test their Twilio accounts, find, suspend,
reactivate and re-tier them, waive fees, read monthly revenue, the active tenants and the
platform's own audit log."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.analytics.schemas import ActiveTenantsSchema
from backend.api.audit_logs.schemas import AuditLogPageSchema, AuditQuerySchema
from backend.api.auth import require_operator
from backend.api.common import SERVICE_SECURITY, ErrorSchema, context, principal
from backend.api.nlu.routes import review_filter
from backend.api.nlu.schemas import (
    NluModelBuildSchema,
    NluModelListSchema,
    NluModelSchema,
    OperatorReviewQuerySchema,
    ReviewPageSchema,
)
from backend.api.pagination import paginated
from backend.api.platform.schemas import (
    CredentialsTestSchema,
    FeeWaiverCreateSchema,
    FeeWaiverListSchema,
    FeeWaiverSchema,
    OperatorTenantSchema,
    ReasonSchema,
    RevenueQuerySchema,
    RevenueSchema,
    TenantCreateSchema,
    TenantPageSchema,
    TenantQuerySchema,
    TierChangeSchema,
    TwilioTestSchema,
)
from backend.api.scopes import OPERATOR, requires
from backend.services.analytics.reports import active_tenants
from backend.services.platform.audit import list_platform_audit_logs
from backend.services.platform.fee_waivers import (
    FeeWaiverView,
    grant_waiver,
    list_waivers,
    revoke_waiver,
)
from backend.services.operator.tenants import (
    ConnectionTest,
    check_connection,
    check_credentials,
    create_tenant,
    list_tenants,
    operator_view,
    reactivate,
    suspend,
)
from backend.services.conversations.nlu_models import (
    ModelView,
    get_model,
    list_models,
    request_promotion,
    request_rollback,
    start_build,
)
from backend.services.conversations.review import review_queue
from backend.services.platform.revenue import SOURCES, monthly_revenue
from backend.services.platform.tenants import NewTenant
from backend.services.platform.usage import update_settings_with_usage

blp = Blueprint("platform", __name__, url_prefix="/v1/platform",
                description="Platform operator: tenants, Twilio tests, fee waivers, revenue")
blp.before_request(require_operator)

# The service token, or an operator user (session or personal access token: issue 17 accounts).
OPERATOR_SECURITY = SERVICE_SECURITY


def _actor() -> str:
    """Who acts, for the records: the operator user, else the service."""
    user = principal().user_id
    return f"user:{user}" if user is not None else "service"


@blp.route("/tenants")
class Tenants(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(TenantQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, TenantPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """List and search tenants (name, slug or number; status; tier)"""
        return paginated(list_tenants(context(), **query))

    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(TenantCreateSchema)
    @blp.response(201, OperatorTenantSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Not a valid WhatsApp number")
    @blp.alt_response(409, schema=ErrorSchema, description="Slug or number already taken")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a tenant and ask for its owner's invitation"""
        new = NewTenant(
            id=body["slug"], name=body["name"], whatsapp_number=body["whatsapp_number"],
            twilio_account_sid=body["twilio_account_sid"],
            twilio_auth_token=body["twilio_auth_token"], sandbox=body["sandbox"],
            primary_language=body["primary_language"], timezone=body["timezone"],
            tier=body["tier"])
        return create_tenant(context(), new, body["languages"], body["owner_email"], _actor(),
                             invited_by=principal().user_id)


@blp.route("/tenants/<string:tenant_id>")
class Tenant(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(200, OperatorTenantSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def get(self, tenant_id: str) -> dict[str, Any]:
        """A tenant with its usage, last Twilio test, status reason and fee waiver"""
        return operator_view(context(), tenant_id)


@blp.route("/tenants/<string:tenant_id>/twilio-test")
class TenantTwilioTest(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(200, TwilioTestSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def post(self, tenant_id: str) -> ConnectionTest:
        """Test the tenant's Twilio credentials (the simulator for a sandbox tenant); the result
        is kept on the tenant. A refusal is a 200 with ok false."""
        return check_connection(context(), tenant_id, _actor())


@blp.route("/twilio-tests")
class CredentialsTest(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(CredentialsTestSchema)
    @blp.response(200, TwilioTestSchema)
    def post(self, body: dict[str, Any]) -> ConnectionTest:
        """Test Twilio credentials before creating a tenant with them (nothing is stored)"""
        return check_credentials(context(), body["twilio_account_sid"],
                                 body["twilio_auth_token"], body["sandbox"])


@blp.route("/tenants/<string:tenant_id>/suspension")
class Suspension(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(ReasonSchema)
    @blp.response(200, OperatorTenantSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    @blp.alt_response(409, schema=ErrorSchema, description="Already suspended")
    def post(self, body: dict[str, str], tenant_id: str) -> dict[str, Any]:
        """Suspend a tenant: its customers are told the shop cannot take messages here"""
        return suspend(context(), tenant_id, body["reason"], _actor())


@blp.route("/tenants/<string:tenant_id>/reactivation")
class Reactivation(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(ReasonSchema)
    @blp.response(200, OperatorTenantSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    @blp.alt_response(409, schema=ErrorSchema, description="Not suspended")
    def post(self, body: dict[str, str], tenant_id: str) -> dict[str, Any]:
        """Reactivate a suspended tenant"""
        return reactivate(context(), tenant_id, body["reason"], _actor())


@blp.route("/tenants/<string:tenant_id>/tier")
class TierChange(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(TierChangeSchema)
    @blp.response(200, OperatorTenantSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def put(self, body: dict[str, str], tenant_id: str) -> dict[str, Any]:
        """Change a tenant's tier (through the one path every tier change takes)"""
        update_settings_with_usage(context(), tenant_id, {"tier": body["tier"]},
                                   as_operator=True)
        return operator_view(context(), tenant_id)


@blp.route("/tenants/<string:tenant_id>/fee-waivers")
class FeeWaivers(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(200, FeeWaiverListSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def get(self, tenant_id: str) -> dict[str, list[FeeWaiverView]]:
        """The tenant's fee waivers, newest first"""
        return {"results": list_waivers(context(), tenant_id)}

    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(FeeWaiverCreateSchema)
    @blp.response(201, FeeWaiverSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="ends_at not after starts_at")
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    def post(self, body: dict[str, Any], tenant_id: str) -> FeeWaiverView:
        """Waive the platform fee on the tenant's payments, for a period or until revoked"""
        return grant_waiver(context(), tenant_id, body["reason"], _actor(),
                            starts_at=body["starts_at"], ends_at=body["ends_at"])


@blp.route("/tenants/<string:tenant_id>/fee-waivers/<int:waiver_id>/revocation")
class FeeWaiverRevocation(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(ReasonSchema)
    @blp.response(200, FeeWaiverSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown waiver")
    @blp.alt_response(409, schema=ErrorSchema, description="Already revoked or ended")
    def post(self, body: dict[str, str], tenant_id: str, waiver_id: int) -> FeeWaiverView:
        """Revoke a fee waiver from now on"""
        return revoke_waiver(context(), tenant_id, waiver_id, body["reason"], _actor())


@blp.route("/revenue")
class Revenue(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(RevenueQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, RevenueSchema)
    def get(self, year: int) -> dict[str, Any]:
        """The platform's revenue by month of a year (UTC), per currency"""
        return {"year": year, "sources": list(SOURCES),
                "months": monthly_revenue(context(), year)}


@blp.route("/active-tenants")
class ActiveTenants(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(200, ActiveTenantsSchema)
    def get(self) -> dict[str, Any]:
        """Tenants with at least one inbound message in the last 30 days, most messages first"""
        return active_tenants(context())


@blp.route("/audit-logs")
class PlatformAuditLogs(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, AuditLogPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """The platform's own audit records (operator actions that belong to no tenant:
        discount codes, tiers, other operator writes), newest first; the same filters and
        paging as GET /v1/audit-logs. A tenant's records (its suspension, tier change...) are in
        that tenant's log."""
        return paginated(list_platform_audit_logs(context(), **query))


@blp.route("/nlu/review")
class OperatorReviewQueue(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(OperatorReviewQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ReviewPageSchema)
    def get(self, page: int, page_size: int, threshold: float, status: str,
            tenant: str | None = None, start: Any = None, end: Any = None,
            intent: str | None = None, language: str | None = None) -> dict[str, Any]:
        """The NLU review queue across tenants (or one): messages the model was unsure of or
        fell back on, masked"""
        where = review_filter(threshold, status, start, end, intent, language)
        return paginated(review_queue(context(), [tenant] if tenant else None, where, page,
                                      page_size))


@blp.route("/nlu/models")
class NluModels(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(200, NluModelListSchema)
    def get(self) -> dict[str, Any]:
        """The NLU model registry, newest first: each model's card (data hash, dates, who built
        and promoted it, evaluation figures, the gate's reasons, progress while it is built)"""
        return {"results": list_models(context())}

    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.arguments(NluModelBuildSchema)
    @blp.response(202, NluModelSchema)
    def post(self, payload: dict[str, Any]) -> ModelView:
        """Build a candidate from the training data and the reviewed messages (NLU_REVIEW_DIR):
        trained, evaluated against the promoted model and gated by a job; 409 while another
        is being built"""
        return start_build(context(), payload["note"])


@blp.route("/nlu/models/<int:model_id>")
class NluModelCard(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(200, NluModelSchema)
    def get(self, model_id: int) -> ModelView:
        """One model's card"""
        return get_model(context(), model_id)


@blp.route("/nlu/models/<int:model_id>/promote")
class NluModelPromote(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(202, NluModelSchema)
    def post(self, model_id: int) -> ModelView:
        """Promote a model whose gate passed: a job swaps it into every rasa server (PUT
        /model, one after the other); 409 unless ready, or while a promotion runs"""
        return request_promotion(context(), model_id)


@blp.route("/nlu/models/rollback")
class NluModelRollback(MethodView):
    @requires(OPERATOR)
    @blp.doc(security=OPERATOR_SECURITY)
    @blp.response(202, NluModelSchema)
    def post(self) -> ModelView:
        """Promote the model promoted before the current one again (409: none)"""
        return request_rollback(context())
