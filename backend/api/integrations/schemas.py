"""Store integration requests and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.api.fields import BoundedInt, Count, Id


class ConnectSchema(Schema):
    site_url = fields.Str(validate=validate.Length(max=300), metadata={
        "description": "WooCommerce: the site's address (https://…)"})
    consumer_key = fields.Str(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "WooCommerce: the REST API consumer key (ck_…)"})
    consumer_secret = fields.Str(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "WooCommerce: the REST API consumer secret (cs_…)"})
    shop_domain = fields.Str(validate=validate.Length(max=100), metadata={
        "description": "Shopify: the shop's domain (my-shop.myshopify.com)"})
    access_token = fields.Str(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "Shopify: the Admin API access token (shpat_…)"})
    api_secret = fields.Str(load_only=True, validate=validate.Length(max=200), metadata={
        "description": "Shopify: the app's API secret key, which signs its webhooks"})


class RunQuerySchema(Schema):
    full = fields.Bool(load_default=False, metadata={
        "description": "Read every product (and deactivate those gone upstream), not only "
                       "what changed"})


class RunHistoryQuerySchema(Schema):
    limit = BoundedInt(load_default=50, validate=validate.Range(min=1, max=200))
    before = BoundedInt(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "Runs older than this run id (the next page)"})


class RunErrorSchema(Schema):
    external_id = fields.Str(allow_none=True, metadata={"description": "The upstream product"})
    message = fields.Str()


class RunSchema(Schema):
    id = Id()
    integration_id = Id()
    kind = fields.Str(metadata={"description": "initial, full, incremental or webhook"})
    status = fields.Str(metadata={"description": "queued, running, succeeded or failed"})
    created = Count()
    updated = Count()
    deactivated = Count()
    failed = Count(metadata={"description": "Products skipped (logged in errors)"})
    errors = fields.List(fields.Nested(RunErrorSchema))
    error = fields.Str(allow_none=True, metadata={"description": "Why the run failed"})
    queued_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class RunListSchema(Schema):
    results = fields.List(fields.Nested(RunSchema))


class IntegrationSchema(Schema):
    id = Id()
    provider = fields.Str()
    store_url = fields.Str()
    status = fields.Str()
    webhook_url = fields.Str(metadata={"description": "Where the store's webhooks are sent"})
    sync_cursor = fields.DateTime(allow_none=True, metadata={
        "description": "The newest upstream change imported"})
    last_full_at = fields.DateTime(allow_none=True)
    webhooks_registered = fields.Bool()
    created_at = fields.DateTime()
    last_run = fields.Nested(RunSchema, allow_none=True)


class IntegrationListSchema(Schema):
    results = fields.List(fields.Nested(IntegrationSchema))


class StoreInfoSchema(Schema):
    name = fields.Str()
    currency = fields.Str()
    products = Count(allow_none=True)


class WebhookAckSchema(Schema):
    run_id = Id(allow_none=True)
