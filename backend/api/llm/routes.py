"""LLM routes: classification for the assistant's fallback (service), log and usage (tenant)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_service, require_tenant
from backend.api.common import SERVICE_SECURITY, TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.llm.schemas import (
    LlmClassificationSchema,
    ClassifyRequestSchema,
    LlmCallPageSchema,
    LlmUsageSchema,
)
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.scopes import SERVICE, requires
from backend.services.knowledge import llm as kb_llm

internal_blp = Blueprint("llm_classify", __name__, url_prefix="/internal/v1/nlu",
                         description="LLM intent classification (service)")
internal_blp.before_request(require_service)
blp = Blueprint("llm", __name__, url_prefix="/v1/llm", description="LLM calls and budget")
blp.before_request(require_tenant)


@internal_blp.route("/classify")
class Classify(MethodView):
    @requires(SERVICE)
    @internal_blp.doc(security=SERVICE_SECURITY)
    @internal_blp.arguments(ClassifyRequestSchema)
    @internal_blp.response(200, LlmClassificationSchema)
    @internal_blp.alt_response(404, schema=ErrorSchema, description="Unknown tenant")
    @internal_blp.alt_response(409, schema=ErrorSchema, description=(
        "The LLM is not configured, not enabled for the tenant, or its budget is exhausted "
        "(`reason`: not_configured | disabled | budget_exhausted)"))
    @requires(SERVICE)
    @internal_blp.alt_response(502, schema=ErrorSchema, description="Unusable model output")
    @internal_blp.alt_response(504, schema=ErrorSchema, description="No model answered in time")
    def post(self, body: dict[str, Any]) -> kb_llm.Classification:
        """Classify a low-confidence message into one of the assistant's intents (JSON only,
        validated against the intent list)"""
        try:
            return kb_llm.classify(context(), body["tenant_id"], body["text"], body["language"])
        except kb_llm.LlmTimedOut as error:
            abort(504, description=error.description)
        except kb_llm.LlmBadOutput as error:
            abort(502, description=error.description)


@blp.route("/calls")
class Calls(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, LlmCallPageSchema)
    def get(self, page: int, page_size: int) -> dict[str, Any]:
        """Every LLM call made for the tenant, newest first"""
        return paginated(kb_llm.list_calls(context(), tenant_id(), page, page_size))


@blp.route("/usage")
class Usage(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, LlmUsageSchema)
    def get(self) -> kb_llm.LlmUsage:
        """This month's LLM calls and estimated cost against the tenant's budget"""
        return kb_llm.usage(context(), tenant_id())
