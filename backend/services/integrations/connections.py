"""Connecting a WooCommerce or Shopify store, testing it, queueing runs, receiving its webhooks.

Credentials (WooCommerce consumer key and secret, and the secret we sign our webhook
subscriptions with; Shopify's Admin API access token and the app's client secret that signs
its webhooks) are stored encrypted with the tenant secrets' keys, never returned or logged.
Each integration has a secret webhook URL `/webhooks/stores/<provider>/<token>` (the token's
keyed hash finds it). Testing the connection is one call with a short timeout and no retry
(the merchant waits for the answer); imports and syncs run in jobs (RUN_STORE_SYNC)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.errors import InvalidInput, NotFound, Unavailable
from backend.models import IntegrationRun, StoreIntegration, Tenant
from backend.models.base import utcnow
from backend.models.integrations import STORE_PROVIDERS
from backend.providers import shopify, woocommerce
from backend.providers.store_http import StoreError, StoreInfo
from backend.queueing.names import RUN_STORE_SYNC
from backend.queueing.runner import JobQueueUnavailable
from backend.services.platform.audit import record_audit
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

TEST_TIMEOUT_SECONDS = 10.0
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")
ACTIVE_RUN = ("queued", "running")


@dataclass(frozen=True)
class IntegrationView:
    id: int
    provider: str
    store_url: str
    status: str
    webhook_url: str
    sync_cursor: datetime | None
    last_full_at: datetime | None
    webhooks_registered: bool
    created_at: datetime
    last_run: RunView | None


@dataclass(frozen=True)
class RunView:
    id: int
    integration_id: int
    kind: str
    status: str
    created: int
    updated: int
    deactivated: int
    failed: int
    errors: list[dict[str, Any]]
    error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Client:
    """A connected store's API client (WooCommerce or Shopify) and what it needs."""

    provider: str
    api: Any  # WooCommerceClient | ShopifyClient
    webhook_url: str
    webhook_secret: str


def run_view(run: IntegrationRun) -> RunView:
    return RunView(run.id, run.integration_id, run.kind, run.status, run.created, run.updated,
                   run.deactivated, run.failed, list(run.errors or []), run.error, run.queued_at,
                   run.started_at, run.finished_at)


def webhook_url(ctx: Context, provider: str, token: str) -> str:
    return f"{ctx.settings.public_url}/webhooks/stores/{provider}/{token}"


def _view(ctx: Context, session: Session, row: StoreIntegration) -> IntegrationView:
    last = session.scalar(select(IntegrationRun).where(IntegrationRun.integration_id == row.id)
                          .order_by(IntegrationRun.id.desc()).limit(1))
    return IntegrationView(
        row.id, row.provider, row.store_url, row.status,
        webhook_url(ctx, row.provider, ctx.crypto.decrypt(row.webhook_token_encrypted)),
        row.sync_cursor, row.last_full_at, row.webhooks_registered, row.created_at,
        run_view(last) if last else None)


def _provider(provider: str) -> str:
    if provider not in STORE_PROVIDERS:
        raise NotFound(f"No store provider {provider!r}")
    return provider


def _integration(session: Session, tenant_id: str, provider: str,
                 lock: bool = False) -> StoreIntegration:
    query = select(StoreIntegration).where(StoreIntegration.tenant_id == tenant_id,
                                           StoreIntegration.provider == _provider(provider))
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None or row.status != "connected":
        raise NotFound(f"No {provider} store is connected")
    return row


def _endpoints(ctx: Context, tenant: Tenant, provider: str,
               payload: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """(store_url, api_url, credentials) from what the merchant gave, checked."""
    if provider == "woocommerce":
        site = str(payload.get("site_url") or "").strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", site):
            raise InvalidInput("site_url must be the store's address",
                               {"site_url": ["Give the site's https:// address."]})
        if site.startswith("http://") and not (ctx.settings.sandbox and tenant.sandbox):
            raise InvalidInput("WooCommerce keys are only sent over HTTPS",
                               {"site_url": ["Use the site's https:// address."]})
        key, secret = str(payload.get("consumer_key") or ""), str(
            payload.get("consumer_secret") or "")
        if not key.startswith("ck_") or not secret.startswith("cs_"):
            raise InvalidInput("WooCommerce keys start with ck_ and cs_", {
                "consumer_key": ["A WooCommerce consumer key (ck_…)."],
                "consumer_secret": ["A WooCommerce consumer secret (cs_…)."]})
        return site, site, {"consumer_key": key, "consumer_secret": secret,
                            "webhook_secret": secrets.token_urlsafe(32)}
    domain = str(payload.get("shop_domain") or "").strip().lower()
    if not SHOP_DOMAIN.match(domain):
        raise InvalidInput("shop_domain must be the shop's myshopify.com domain",
                           {"shop_domain": ["Like my-shop.myshopify.com."]})
    token, app_secret = str(payload.get("access_token") or ""), str(
        payload.get("api_secret") or "")
    if not token or not app_secret:
        raise InvalidInput("Shopify needs the Admin API access token and the app's secret", {
            "access_token": ["The Admin API access token (shpat_…)."],
            "api_secret": ["The app's API secret key: it signs the webhooks."]})
    api = (f"{ctx.settings.payments_sandbox_url}/shopify/{domain}"
           if ctx.settings.sandbox and tenant.sandbox else f"https://{domain}")
    return domain, api, {"access_token": token, "api_secret": app_secret}


def connect(ctx: Context, tenant_id: str, provider: str, payload: dict[str, Any],
            actor: str | None = None) -> IntegrationView:
    """Connect (or reconnect with new credentials) the tenant's store of this provider."""
    _provider(provider)
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        store_url, api_url, credentials = _endpoints(ctx, tenant, provider, payload)
        row = session.scalar(select(StoreIntegration).where(
            StoreIntegration.tenant_id == tenant_id, StoreIntegration.provider == provider)
            .with_for_update())
        if row is None:
            token = secrets.token_urlsafe(24)
            row = StoreIntegration(tenant_id=tenant_id, provider=provider, sync_cursor_ids=[],
                                   webhook_token_hash=ctx.crypto.keyed_hash(token),
                                   webhook_token_encrypted=ctx.crypto.encrypt(token))
            session.add(row)
        row.store_url, row.api_url, row.status = store_url, api_url, "connected"
        row.credentials_encrypted = ctx.crypto.encrypt(json.dumps(credentials))
        row.webhooks_registered = False
        session.flush()
        record_audit(session, tenant_id, actor, "integration.connect", ("integration", row.id),
                     after={"provider": provider, "store_url": store_url})
        return _view(ctx, session, row)


def client_for(ctx: Context, row: StoreIntegration, timeout: float | None = None,
               retries: int | None = None) -> Client:
    credentials = json.loads(ctx.crypto.decrypt(row.credentials_encrypted))
    timeout = ctx.settings.store_timeout_seconds if timeout is None else timeout
    retries = ctx.settings.store_retries if retries is None else retries
    url = webhook_url(ctx, row.provider, ctx.crypto.decrypt(row.webhook_token_encrypted))
    if row.provider == "woocommerce":
        return Client(row.provider, woocommerce.WooCommerceClient(
            row.api_url, credentials["consumer_key"], credentials["consumer_secret"],
            timeout=timeout, retries=retries), url, credentials["webhook_secret"])
    return Client(row.provider, shopify.ShopifyClient(
        row.api_url, credentials["access_token"], timeout=timeout, retries=retries),
        url, credentials["api_secret"])


def test_connection(ctx: Context, tenant_id: str, provider: str) -> StoreInfo:
    """One call to the store: 400 when it refuses the credentials, 503 when it does not answer."""
    with ctx.db.transaction() as session:
        row = _integration(session, tenant_id, provider)
        client = client_for(ctx, row, timeout=min(ctx.settings.store_timeout_seconds,
                                                  TEST_TIMEOUT_SECONDS), retries=0)
    try:
        return client.api.store_info()  # type: ignore[no-any-return]
    except StoreError as error:
        if error.kind == "auth":
            raise InvalidInput(f"The store refused the credentials: {error}", {
                "credentials": ["Check the keys in the store's settings and connect again."]}
            ) from None
        if error.kind in ("timeout", "unavailable"):
            raise Unavailable(f"The store did not answer: {error}") from None
        raise InvalidInput(f"The store answered unexpectedly: {error}") from None
    finally:
        client.api.close()


def disconnect(ctx: Context, tenant_id: str, provider: str, actor: str | None = None) -> None:
    """Forget the credentials; imported products stay (they are the merchant's catalog now)."""
    with ctx.db.transaction() as session:
        row = _integration(session, tenant_id, provider, lock=True)
        row.status = "disconnected"
        row.credentials_encrypted = ctx.crypto.encrypt("{}")
        for run in session.scalars(select(IntegrationRun).where(
                IntegrationRun.integration_id == row.id, IntegrationRun.status == "queued")):
            run.status, run.error, run.finished_at = "failed", "The store was disconnected", utcnow()
        record_audit(session, tenant_id, actor, "integration.disconnect", ("integration", row.id))


def get_integration(ctx: Context, tenant_id: str, provider: str) -> IntegrationView:
    with ctx.db.transaction() as session:
        return _view(ctx, session, _integration(session, tenant_id, provider))


def list_integrations(ctx: Context, tenant_id: str) -> list[IntegrationView]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(StoreIntegration).where(
            StoreIntegration.tenant_id == tenant_id, StoreIntegration.status == "connected")
            .order_by(StoreIntegration.id)).all()
        return [_view(ctx, session, row) for row in rows]


def list_runs(ctx: Context, tenant_id: str, provider: str, limit: int = 50,
              before: int | None = None) -> list[RunView]:
    with ctx.db.transaction() as session:
        row = _integration(session, tenant_id, provider)
        query = select(IntegrationRun).where(IntegrationRun.tenant_id == tenant_id,
                                             IntegrationRun.integration_id == row.id)
        if before is not None:
            query = query.where(IntegrationRun.id < before)
        return [run_view(r) for r in session.scalars(
            query.order_by(IntegrationRun.id.desc()).limit(limit))]


def get_run(ctx: Context, tenant_id: str, provider: str, run_id: int) -> RunView:
    with ctx.db.transaction() as session:
        row = _integration(session, tenant_id, provider)
        run = session.get(IntegrationRun, run_id)
        if run is None or run.tenant_id != tenant_id or run.integration_id != row.id:
            raise NotFound("No such run")
        return run_view(run)


def _enqueue(ctx: Context, run_id: int) -> None:
    try:
        ctx.jobs.enqueue(RUN_STORE_SYNC, run_id)
    except JobQueueUnavailable:
        pass  # stored as queued: the integrations sweep queues it again


def queue_run(ctx: Context, tenant_id: str, provider: str, full: bool = False) -> RunView:
    """Queue an import (the first run, or `full`: everything, deactivating what is gone) or a
    sync of what changed; a run already queued or running is returned instead of a second."""
    with ctx.db.transaction() as session:
        row = _integration(session, tenant_id, provider, lock=True)
        pending = session.scalar(select(IntegrationRun).where(
            IntegrationRun.integration_id == row.id, IntegrationRun.kind != "webhook",
            IntegrationRun.status.in_(ACTIVE_RUN)).limit(1))
        if pending is not None:
            return run_view(pending)
        kind = ("initial" if row.last_full_at is None else "full" if full else "incremental")
        run = IntegrationRun(tenant_id=tenant_id, integration_id=row.id, kind=kind,
                             status="queued", product_ids=[], errors=[])
        session.add(run)
        session.flush()
        view = run_view(run)
    _enqueue(ctx, view.id)
    return view


def receive_webhook(ctx: Context, provider: str, token: str, raw_body: bytes,
                    headers: Any) -> int | None:
    """A store's product webhook: None when the token is unknown or the signature is wrong
    (the caller answers 401); else the queued run that fetches the product and applies it."""
    _provider(provider)
    with ctx.db.transaction() as session:
        row = session.scalar(select(StoreIntegration).where(
            StoreIntegration.webhook_token_hash == ctx.crypto.keyed_hash(token),
            StoreIntegration.provider == provider, StoreIntegration.status == "connected"))
        if row is None:
            return None
        credentials = json.loads(ctx.crypto.decrypt(row.credentials_encrypted))
        module: Any = woocommerce if provider == "woocommerce" else shopify
        secret = credentials.get("webhook_secret" if provider == "woocommerce" else "api_secret")
        if not module.valid_signature(secret or "", raw_body, headers.get(module.SIGNATURE_HEADER)):
            return None
        try:
            body = json.loads(raw_body)
        except ValueError:
            body = None
        # WooCommerce's ping when a webhook is created carries `webhook_id` only.
        product_id = body.get("id") if isinstance(body, dict) else None
        if product_id is None:
            return 0
        if not isinstance(product_id, (int, str)) or not str(product_id).isdigit():
            raise InvalidInput("The webhook names no product id")
        run = IntegrationRun(tenant_id=row.tenant_id, integration_id=row.id, kind="webhook",
                             status="queued", product_ids=[str(product_id)], errors=[])
        session.add(run)
        session.flush()
        run_id = run.id
    _enqueue(ctx, run_id)
    return run_id


def requeue_runs(ctx: Context, older_than: datetime) -> list[int]:
    """Runs still queued since before `older_than` (the queue was down): queued again."""
    with ctx.db.transaction() as session:
        ids = list(session.scalars(select(IntegrationRun.id).where(
            IntegrationRun.status == "queued", IntegrationRun.queued_at < older_than)))
    for run_id in ids:
        _enqueue(ctx, run_id)
    return ids


def connected_integrations(ctx: Context) -> list[tuple[str, str]]:
    with ctx.db.transaction() as session:
        return [(t, p) for t, p in session.execute(select(
            StoreIntegration.tenant_id, StoreIntegration.provider).where(
            StoreIntegration.status == "connected"))]

