"""Campaigns for merchants: create (now or scheduled), preview the reach, cancel, list, report
(JSON and CSV); customers' tags for segments. The fan-out runs in jobs, never in the request."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.campaigns.schemas import (
    CampaignCreateSchema,
    CampaignPageSchema,
    CampaignSchema,
    CampaignPreviewRequestSchema,
    CampaignPreviewSchema,
    CampaignReportSchema,
    CustomerTagsSchema,
)
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.pagination import PageQuerySchema, paginated
from backend.api.scopes import requires
from backend.services.conversations import campaigns

blp = Blueprint("campaigns", __name__, url_prefix="/v1/campaigns",
                description="Campaigns: promotional templates to a segment, A/B variants")
blp.before_request(require_tenant)
tags_blp = Blueprint("customer_tags", __name__, url_prefix="/v1/customers",
                     description="Customers' tags (campaign segments)")
tags_blp.before_request(require_tenant)
REFUSED = ("Nothing stored; `reason`: empty_audience, no_promotional_consent, "
           "template_language_missing")
BAD = "Unknown template, unknown or missing template variables (`errors` names the variant)"


def _request(payload: dict[str, Any]) -> campaigns.CampaignRequest:
    return campaigns.CampaignRequest(
        name=payload.get("name") or "preview", segment=payload["segment"],
        variants=[campaigns.VariantRequest(v["template"], v["variables"])
                  for v in payload["variants"]],
        send_at=payload["send_at"])


@blp.route("")
class Campaigns(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(PageQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, CampaignPageSchema)
    def get(self, **query: Any) -> dict[str, Any]:
        """Campaigns, newest first, with their recipients' outcomes"""
        return paginated(campaigns.list_campaigns(context(), tenant_id(), **query))

    @requires("campaigns:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(CampaignCreateSchema)
    @blp.response(202, CampaignSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=BAD)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    def post(self, payload: dict[str, Any]) -> campaigns.CampaignView:
        """Create a campaign: queued now (jobs send it) or scheduled for send_at"""
        return campaigns.create_campaign(context(), tenant_id(), _request(payload))


@blp.route("/preview")
class Preview(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(CampaignPreviewRequestSchema)
    @blp.response(200, CampaignPreviewSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=BAD)
    def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Reach: how many customers match, how many it would reach, who would be refused and
        why, what waits for quiet hours or later days; nothing is stored or sent"""
        return campaigns.preview_campaign(context(), tenant_id(), _request(payload))


@blp.route("/<int:campaign_id>")
class CampaignById(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, CampaignSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
    def get(self, campaign_id: int) -> campaigns.CampaignView:
        """One campaign"""
        return campaigns.get_campaign(context(), tenant_id(), campaign_id)


@blp.route("/<int:campaign_id>/cancel")
class Cancel(MethodView):
    @requires("campaigns:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, CampaignSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
    @blp.alt_response(409, schema=ErrorSchema, description="Already done or cancelled")
    def post(self, campaign_id: int) -> campaigns.CampaignView:
        """Cancel: customers not yet reached and messages still waiting are cancelled"""
        return campaigns.cancel_campaign(context(), tenant_id(), campaign_id)


@blp.route("/<int:campaign_id>/report")
class Report(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, CampaignReportSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Per variant: sent, delivered, read, failed, replied, converted (72 h), refused"""
        return campaigns.campaign_report(context(), tenant_id(), campaign_id)


@blp.route("/<int:campaign_id>/report.csv")
class ReportCsv(MethodView):
    @requires("campaigns:read")
    @blp.doc(security=TENANT_SECURITY, responses={"200": {
        "description": "A header line, then one line per variant",
        "content": {"text/csv": {"schema": {"type": "string"}}}}})
    @requires("campaigns:read")
    @blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
    def get(self, campaign_id: int) -> Response:
        """The report as CSV"""
        text = campaigns.report_csv(context(), tenant_id(), campaign_id)
        return Response(text, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})


@tags_blp.route("/<int:customer_id>/tags")
class Tags(MethodView):
    @requires("customers:read")
    @tags_blp.doc(security=TENANT_SECURITY)
    @tags_blp.response(200, CustomerTagsSchema)
    @tags_blp.alt_response(404, schema=ErrorSchema, description="No such customer")
    def get(self, customer_id: int) -> dict[str, list[str]]:
        """The customer's tags"""
        return {"tags": campaigns.customer_tags(context(), tenant_id(), customer_id)}

    @requires("customers:write")
    @tags_blp.doc(security=TENANT_SECURITY)
    @tags_blp.arguments(CustomerTagsSchema)
    @tags_blp.response(200, CustomerTagsSchema)
    @tags_blp.alt_response(404, schema=ErrorSchema, description="No such customer")
    def put(self, payload: dict[str, Any], customer_id: int) -> dict[str, list[str]]:
        """Replace the customer's tags (lower-cased)"""
        return {"tags": campaigns.set_customer_tags(context(), tenant_id(), customer_id,
                                                    payload["tags"])}
