"""A tenant's payment settings: M-Pesa shortcode and Daraja credentials, the card provider and
its keys, the merchant's own payment link. Credentials are encrypted at rest, never returned."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.services.platform.audit import record_audit
from backend.wiring import Context
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.payments import CARD_PROVIDERS
from backend.models import PaymentSettings
from backend.providers import daraja, paystack, pesapal, stripe_checkout
from backend.services.platform.tenants import require_tenant
from backend.settings import Settings

SECRET_FIELDS = (
    "daraja_consumer_key",
    "daraja_consumer_secret",
    "mpesa_passkey",
    "paystack_secret_key",
    "stripe_secret_key",
    "stripe_webhook_secret",
    "pesapal_consumer_key",
    "pesapal_consumer_secret",
)
CONFIG_FIELDS = (
    "mpesa_shortcode",
    "mpesa_account_type",  # paybill | till
    "mpesa_till_number",  # PartyB of a till (Buy Goods)
    "daraja_base_url",
    "card_provider",  # paystack | stripe | pesapal | None
    "paystack_base_url",
    "stripe_base_url",
    "pesapal_base_url",
    "pesapal_ipn_id",
    "merchant_payment_link",  # tiers without payment facilitation: the merchant's own link
    "receipt_email",  # Paystack needs an email; customers on WhatsApp have none
)
MPESA_ACCOUNT_TYPES = ("paybill", "till")


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to talk to the tenant's providers (decrypted; never serialised)."""

    tenant_id: str
    sandbox: bool
    config: dict[str, Any]
    secrets: dict[str, str]
    callback_token: str

    def get(self, name: str) -> Any:
        return self.secrets.get(name) if name in SECRET_FIELDS else self.config.get(name)

    @property
    def mpesa_ready(self) -> bool:
        return all(self.get(k) for k in ("mpesa_shortcode", "mpesa_passkey",
                                          "daraja_consumer_key", "daraja_consumer_secret"))

    @property
    def till(self) -> bool:
        return self.config.get("mpesa_account_type") == "till"

    @property
    def party_b(self) -> str:
        return str(self.config.get("mpesa_till_number") if self.till
                   else self.config.get("mpesa_shortcode"))


@dataclass(frozen=True)
class PaymentSettingsView:
    """What the merchant sees: the configuration, which secrets are set, the callback URLs."""

    config: dict[str, Any]
    secrets_set: list[str]
    callback_urls: dict[str, str]


def base_url(settings: Settings, config: ProviderConfig, provider: str) -> str:
    """The tenant's override, else the simulator for sandbox tenants, else the live API."""
    override = config.config.get(f"{provider}_base_url")
    if override:
        return str(override).rstrip("/")
    if config.sandbox:
        return f"{settings.payments_sandbox_url}/{provider}"
    return {"daraja": daraja.PRODUCTION_BASE_URL, "paystack": paystack.BASE_URL,
            "stripe": stripe_checkout.BASE_URL, "pesapal": pesapal.LIVE_BASE_URL}[provider]


def callback_urls(settings: Settings, token: str) -> dict[str, str]:
    root = f"{settings.public_url}/webhooks"
    return {
        "mpesa_stk": f"{root}/mpesa/{token}/stk",
        "mpesa_c2b_confirmation": f"{root}/mpesa/{token}/c2b/confirmation",
        "mpesa_c2b_validation": f"{root}/mpesa/{token}/c2b/validation",
        "paystack": f"{root}/paystack/{token}",
        "stripe": f"{root}/stripe/{token}",
        "pesapal": f"{root}/pesapal/{token}",
    }


def payout_token(ctx: Context) -> str:
    """The secret path token of the platform's B2C result URLs (derived, never stored)."""
    return ctx.crypto.keyed_hash("mpesa-b2c-results")[:40]


def _validate(config: dict[str, Any]) -> None:
    kind = config.get("mpesa_account_type")
    if kind is not None and kind not in MPESA_ACCOUNT_TYPES:
        raise InvalidInput("mpesa_account_type must be paybill or till")
    provider = config.get("card_provider")
    if provider is not None and provider not in CARD_PROVIDERS:
        raise InvalidInput(f"card_provider must be one of {', '.join(CARD_PROVIDERS)}")
    shortcode = config.get("mpesa_shortcode")
    if shortcode is not None and not (str(shortcode).isdigit() and 5 <= len(str(shortcode)) <= 7):
        raise InvalidInput("mpesa_shortcode must be 5 to 7 digits")


def _row(session: Session, ctx: Context, tenant_id: str) -> PaymentSettings:
    row = session.get(PaymentSettings, tenant_id, with_for_update=True)
    if row is None:
        token = secrets.token_urlsafe(24)
        row = PaymentSettings(
            tenant_id=tenant_id, config={"mpesa_account_type": "paybill"},
            secrets_encrypted=ctx.crypto.encrypt("{}"),
            callback_token_hash=ctx.crypto.keyed_hash(token),
            callback_token_encrypted=ctx.crypto.encrypt(token),
        )
        session.add(row)
        session.flush()
    return row


def _view(ctx: Context, row: PaymentSettings) -> PaymentSettingsView:
    stored = json.loads(ctx.crypto.decrypt(row.secrets_encrypted))
    token = ctx.crypto.decrypt(row.callback_token_encrypted)
    return PaymentSettingsView(
        config={name: row.config.get(name) for name in CONFIG_FIELDS},
        secrets_set=sorted(name for name, value in stored.items() if value),
        callback_urls=callback_urls(ctx.settings, token),
    )


def update_payment_settings(ctx: Context, tenant_id: str, changes: dict[str, Any]
                            ) -> PaymentSettingsView:
    """Merge changes (None clears a value); secrets are encrypted, the rest stored as is."""
    unknown = set(changes) - set(CONFIG_FIELDS) - set(SECRET_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown payment settings: {', '.join(sorted(unknown))}")
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        row = _row(session, ctx, tenant_id)
        before = _view(ctx, row)
        config = {**row.config, **{k: v for k, v in changes.items() if k in CONFIG_FIELDS}}
        _validate(config)
        stored = json.loads(ctx.crypto.decrypt(row.secrets_encrypted))
        stored.update({k: v for k, v in changes.items() if k in SECRET_FIELDS})
        row.config = {k: v for k, v in config.items() if v is not None}
        row.secrets_encrypted = ctx.crypto.encrypt(json.dumps(
            {k: v for k, v in stored.items() if v}))
        after = _view(ctx, row)
        record_audit(session, tenant_id, None, "payment_settings.update",
                     ("payment_settings", tenant_id), before, after)
        return after


def get_payment_settings(ctx: Context, tenant_id: str) -> PaymentSettingsView:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        return _view(ctx, _row(session, ctx, tenant_id))


def provider_config(session: Session, ctx: Context, tenant_id: str) -> ProviderConfig:
    tenant = require_tenant(session, tenant_id)
    row = session.get(PaymentSettings, tenant_id)
    if row is None:
        raise Conflict("This shop has not set up payments yet")
    return ProviderConfig(
        tenant_id=tenant_id, sandbox=tenant.sandbox, config=dict(row.config),
        secrets=json.loads(ctx.crypto.decrypt(row.secrets_encrypted)),
        callback_token=ctx.crypto.decrypt(row.callback_token_encrypted),
    )


def load_provider_config(ctx: Context, tenant_id: str) -> ProviderConfig:
    with ctx.db.transaction() as session:
        return provider_config(session, ctx, tenant_id)


def remember_pesapal_ipn(ctx: Context, tenant_id: str, ipn_id: str) -> None:
    with ctx.db.transaction() as session:
        row = _row(session, ctx, tenant_id)
        row.config = {**row.config, "pesapal_ipn_id": ipn_id}


def tenant_for_callback_token(ctx: Context, token: str) -> str | None:
    """The tenant whose callback URLs carry this token, or None (an unknown token)."""
    with ctx.db.transaction() as session:
        return session.scalar(select(PaymentSettings.tenant_id).where(
            PaymentSettings.callback_token_hash == ctx.crypto.keyed_hash(token)))


def daraja_client(ctx: Context, config: ProviderConfig) -> daraja.DarajaClient:
    return daraja.DarajaClient(base_url(ctx.settings, config, "daraja"),
                               config.get("daraja_consumer_key") or "",
                               config.get("daraja_consumer_secret") or "")
