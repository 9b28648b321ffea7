"""/v1/analytics: the tenant's figures per local day. Closed days come from the nightly roll-up
(backend/jobs/analytics.py), today is computed live; every day is the tenant's local day."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.analytics.schemas import (
    DailyQuerySchema,
    DailySchema,
    FunnelSchema,
    IntentQuerySchema,
    IntentsSchema,
    MessagingSchema,
    OverviewSchema,
    ProductQuerySchema,
    ProductsSchema,
    RangeQuerySchema,
)
from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.scopes import requires
from backend.services.analytics import reports

blp = Blueprint("analytics", __name__, url_prefix="/v1/analytics",
                description="Analytics: daily figures in the tenant's timezone")
blp.before_request(require_tenant)

RANGE_ERROR = "from after to, or a range over 366 days"


@blp.route("/overview")
class Overview(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, OverviewSchema)
    def get(self) -> dict[str, Any]:
        """Today so far against yesterday, and the last 7 and 30 days (today included)"""
        return reports.overview(context(), tenant_id())


@blp.route("/daily")
class Daily(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(DailyQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, DailySchema)
    @blp.alt_response(400, schema=ErrorSchema, description=RANGE_ERROR)
    def get(self, first: date | None, last: date | None,
            metrics: list[str] | None) -> dict[str, Any]:
        """One entry per local day of the range (default: the last 30 days) with the chosen
        figures"""
        return reports.daily(context(), tenant_id(), first, last, metrics)


@blp.route("/funnel")
class Funnel(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(RangeQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, FunnelSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=RANGE_ERROR)
    def get(self, first: date | None, last: date | None) -> dict[str, Any]:
        """Conversations → conversations with an order → with a paid order"""
        return reports.funnel(context(), tenant_id(), first, last)


@blp.route("/messaging")
class Messaging(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(RangeQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, MessagingSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=RANGE_ERROR)
    def get(self, first: date | None, last: date | None) -> dict[str, Any]:
        """Messages in and out, delivery statuses, handoffs, FAQ answers, campaign results"""
        return reports.messaging(context(), tenant_id(), first, last)


@blp.route("/intents")
class Intents(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(IntentQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, IntentsSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=RANGE_ERROR)
    def get(self, first: date | None, last: date | None, limit: int) -> dict[str, Any]:
        """The most frequent intents and the fallback rate"""
        return reports.intents(context(), tenant_id(), first, last, limit)


@blp.route("/products")
class Products(MethodView):
    @requires("analytics:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ProductQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, ProductsSchema)
    @blp.alt_response(400, schema=ErrorSchema, description=RANGE_ERROR)
    def get(self, first: date | None, last: date | None, limit: int) -> dict[str, Any]:
        """The top products: units and revenue of paid orders' lines, by product (default: the
        last 30 days)"""
        return reports.products(context(), tenant_id(), first, last, limit)
