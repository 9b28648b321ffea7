"""A tenant's store integrations: WooCommerce and Shopify connected, tested, imported and
synced (runs in jobs: 202 with the run), and the stores' signed product webhooks."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.api.auth import require_tenant
from backend.api.common import TENANT_SECURITY, ErrorSchema, context, tenant_id
from backend.api.integrations.schemas import (
    ConnectSchema,
    IntegrationListSchema,
    IntegrationSchema,
    RunHistoryQuerySchema,
    RunListSchema,
    RunQuerySchema,
    RunSchema,
    StoreInfoSchema,
    WebhookAckSchema,
)
from backend.api.rate_limits import credential_failed
from backend.api.scopes import PUBLIC, requires
from backend.domain.errors import Unauthenticated
from backend.services.integrations import connections
from backend.services.integrations.connections import IntegrationView, RunView

blp = Blueprint("integrations", __name__, url_prefix="/v1/integrations",
                description="Store integrations (WooCommerce, Shopify)")
blp.before_request(require_tenant)
webhook_blp = Blueprint("store_webhooks", __name__, url_prefix="/webhooks/stores",
                        description="WooCommerce and Shopify product webhooks")
NOT_CONNECTED = {"schema": ErrorSchema, "description": "No such store connected for this tenant"}


@blp.route("")
class Integrations(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, IntegrationListSchema)
    def get(self) -> dict[str, list[IntegrationView]]:
        """The connected stores, each with its last run"""
        return {"results": connections.list_integrations(context(), tenant_id())}


@blp.route("/<string:provider>")
class Integration(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, IntegrationSchema)
    @blp.alt_response(404, **NOT_CONNECTED)
    def get(self, provider: str) -> IntegrationView:
        """A connected store's status: its webhook URL, sync cursor and last run"""
        return connections.get_integration(context(), tenant_id(), provider)

    @requires("integrations:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(ConnectSchema)
    @blp.response(201, IntegrationSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="Missing or malformed credentials")
    @blp.alt_response(404, schema=ErrorSchema, description="Unknown provider")
    def post(self, payload: dict[str, Any], provider: str) -> IntegrationView:
        """Connect the store (woocommerce: site_url, consumer_key, consumer_secret; shopify:
        shop_domain, access_token, api_secret), or replace its credentials; stored encrypted,
        never shown again. Nothing is imported until a run"""
        return connections.connect(context(), tenant_id(), provider, payload)

    @requires("integrations:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(204)
    @blp.alt_response(404, **NOT_CONNECTED)
    def delete(self, provider: str) -> None:
        """Disconnect: the credentials are forgotten; the imported products stay"""
        connections.disconnect(context(), tenant_id(), provider)


@blp.route("/<string:provider>/test")
class IntegrationTest(MethodView):
    @requires("integrations:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, StoreInfoSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="The store refused the credentials")
    @blp.alt_response(404, **NOT_CONNECTED)
    @blp.alt_response(503, schema=ErrorSchema, description="The store did not answer")
    def post(self, provider: str) -> Any:
        """Test the connection: one call to the store (10 s at most, no retry)"""
        return connections.test_connection(context(), tenant_id(), provider)


@blp.route("/<string:provider>/runs")
class IntegrationRuns(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(RunHistoryQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, RunListSchema)
    @blp.alt_response(404, **NOT_CONNECTED)
    def get(self, provider: str, limit: int, before: int | None) -> dict[str, list[RunView]]:
        """Run history, newest first: counts and per-product errors"""
        return {"results": connections.list_runs(context(), tenant_id(), provider, limit, before)}

    @requires("integrations:write")
    @blp.doc(security=TENANT_SECURITY)
    @blp.arguments(RunQuerySchema, location="query", as_kwargs=True)
    @blp.response(202, RunSchema)
    @blp.alt_response(404, **NOT_CONNECTED)
    def post(self, provider: str, full: bool) -> RunView:
        """Run now, in a job: the first import, then what changed (full=true: everything);
        a run already queued or running is answered instead of a second"""
        return connections.queue_run(context(), tenant_id(), provider, full)


@blp.route("/<string:provider>/runs/<int:run_id>")
class IntegrationRunById(MethodView):
    @requires("catalog:read")
    @blp.doc(security=TENANT_SECURITY)
    @blp.response(200, RunSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such run for this tenant")
    def get(self, provider: str, run_id: int) -> RunView:
        """One run"""
        return connections.get_run(context(), tenant_id(), provider, run_id)


@webhook_blp.route("/<string:provider>/<string:token>")
class StoreWebhook(MethodView):
    @requires(PUBLIC)
    @webhook_blp.response(200, WebhookAckSchema)
    @webhook_blp.alt_response(401, schema=ErrorSchema,
                              description="Unknown URL or wrong signature")
    def post(self, provider: str, token: str) -> Response:
        """A product webhook (WooCommerce X-WC-Webhook-Signature, Shopify
        X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the raw body); a run fetches the product
        and applies it"""
        if provider not in ("woocommerce", "shopify"):
            credential_failed()
            raise Unauthenticated("Unknown webhook URL")
        run_id = connections.receive_webhook(context(), provider, token,
                                             request.get_data(cache=True), request.headers)
        if run_id is None:
            credential_failed()
            raise Unauthenticated("Unknown webhook URL or wrong signature")
        return jsonify({"run_id": run_id or None})
