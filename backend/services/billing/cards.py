"""Cards for the subscription: the owner saves one on Paystack's or Stripe's hosted page (a
setup row, pending until the provider's signed webhook carries the reusable token, kept
encrypted), and the billing run charges it off-session: Paystack's
transaction/charge_authorization or a Stripe PaymentIntent (off_session, confirm), each keyed by
the charge's key so a repeated call never charges twice at the provider either.

The charge row is claimed and moved queued -> sending by one job exactly as for M-Pesa
(renewals.charge_invoice); the synchronous answer or the webhook, whichever comes first, settles
it once (the row locked, its status checked): a success pays the invoice (mark_paid), a decline
counts as a failed attempt (the same retries, reminders and suspension).

Once a card is saved a job finishes it (FINISH_CARD_SETUP, idempotent): Paystack's card check
(BILLING_CARD_CHECK_MINOR, charged to get a reusable authorization) is refunded through
POST /refund, recorded once on the card (check_refund pending -> refunded | failed; a refund
Paystack already made for the reference, its call answered but not recorded, is refused as
"fully reversed" and counts as refunded); Stripe's card label (brand, last 4) is read from the
PaymentMethod (GET /v1/payment_methods/<id>), which the setup_intent.succeeded event does not
carry. The owner may remove the saved card (`remove_card`): the subscription falls back to
M-Pesa, refused (409) while a card charge is in flight.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.domain.errors import Conflict, NotFound, Unavailable, Unprocessable
from backend.models import BillingCard, BillingCharge, Invoice, Subscription, User
from backend.models.base import utcnow
from backend.providers import paystack, stripe_checkout
from backend.queueing.names import FINISH_CARD_SETUP
from backend.services.billing.subscriptions import subscription_for
from backend.services.platform.audit import record_audit
from backend.services.platform.tenants import require_tenant
from backend.services.platform.tiers import get_tier
from backend.wiring import Context

log = logging.getLogger(__name__)
SETUP_PREFIX = "BCS-"  # the reference of a card setup (a charge's is its key, "inv…a…")
# Sandbox only, when BILLING_PAYSTACK_* / BILLING_STRIPE_* are unset: the simulators' platform
# accounts (the seed registers their webhooks as the platform would in each dashboard).
SANDBOX_CARD_BILLING = {"paystack_secret_key": "sk_test_platform_billing_paystack",
                        "stripe_secret_key": "sk_test_platform_billing_stripe",
                        "stripe_webhook_secret": "whsec_platform_billing_sandbox"}


@dataclass(frozen=True)
class CardSetupView:
    id: int
    provider: str
    status: str  # pending | active | replaced | failed
    url: str | None  # the provider's hosted page (only in the answer that starts it)
    label: str | None
    created_at: datetime


@dataclass(frozen=True)
class CardResult:
    """What the provider answered about one charge."""

    status: str  # paid | declined | pending | unknown
    reference: str | None = None  # Stripe's PaymentIntent; Paystack's reference
    reason: str = ""
    amount_minor: int | None = None


def card_setting(ctx: Context, name: str) -> str:
    value = str(getattr(ctx.settings, f"billing_{name}"))
    return value or (SANDBOX_CARD_BILLING.get(name, "") if ctx.settings.sandbox else "")


def _base(ctx: Context, provider: str) -> str:
    value = str(getattr(ctx.settings, f"billing_{provider}_url"))
    if value:
        return value
    if ctx.settings.sandbox:
        return f"{ctx.settings.payments_sandbox_url}/{provider}"
    return paystack.BASE_URL if provider == "paystack" else stripe_checkout.BASE_URL


def webhook_urls(ctx: Context) -> dict[str, str]:
    """Where the platform's Paystack and Stripe accounts send their events (set in each
    provider's dashboard)."""
    root = f"{ctx.settings.public_url}/webhooks/billing"
    return {"paystack": f"{root}/paystack", "stripe": f"{root}/stripe"}


# --- saving a card ---------------------------------------------------------------------------

def _owner_email(session: Session, user_id: int | None, email: str | None) -> str | None:
    if email:
        return email.strip().lower()
    user = session.get(User, user_id) if user_id is not None else None
    return user.email if user is not None else None


def start_card_setup(ctx: Context, tenant_id: str, provider: str, *, user_id: int | None = None,
                     email: str | None = None) -> CardSetupView:
    """Open the provider's hosted page where the owner enters a card (one quick call, like a
    customer's card checkout): Paystack charges BILLING_CARD_CHECK_MINOR with channels
    ["card"] and its charge.success carries a reusable authorization; Stripe saves the card to
    a customer in a setup-mode Checkout Session, setup_intent.succeeded carries the payment
    method. The card becomes the subscription's payment method when that webhook comes."""
    if not card_setting(ctx, f"{provider}_secret_key"):
        raise Unavailable(f"Card billing through {provider} is not configured on this platform")
    reference = f"{SETUP_PREFIX}{uuid.uuid4().hex[:24]}"
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        address = _owner_email(session, user_id, email)
        if not address or "@" not in address:
            raise Unprocessable("The card needs the owner's email address",
                                {"email": ["Required when not signed in as a user."]})
        currency = get_tier(session, subscription_for(session, tenant).tier).currency
        row = BillingCard(tenant_id=tenant_id, provider=provider, reference=reference,
                          status="pending")
        session.add(row)
        session.flush()
        setup_id = row.id
    done = f"{ctx.settings.public_url}/webhooks/payments/done"
    metadata = {"billing_setup": reference, "tenant_id": tenant_id}
    try:
        if provider == "paystack":
            checkout = paystack.PaystackClient(
                card_setting(ctx, "paystack_secret_key"), _base(ctx, "paystack")).initialize(
                email=address, amount_minor=ctx.settings.billing_card_check_minor,
                currency=currency, reference=reference, callback_url=done, metadata=metadata,
                channels=["card"])
            url = checkout.authorization_url
        else:
            key, base = card_setting(ctx, "stripe_secret_key"), _base(ctx, "stripe")
            customer = stripe_checkout.create_customer(
                secret_key=key, base_url=base, email=address, metadata={"tenant_id": tenant_id})
            url = stripe_checkout.create_setup_session(
                secret_key=key, base_url=base, customer=customer, reference=reference,
                success_url=done, metadata=metadata).url
    except (paystack.PaystackError, stripe_checkout.StripeCheckoutError) as error:
        log.warning("card setup %s for %s failed: %s", reference, tenant_id, error)
        with ctx.db.transaction() as session:
            session.execute(update(BillingCard).where(BillingCard.id == setup_id)
                            .values(status="failed", updated_at=utcnow()))
        raise Unavailable(f"The card provider refused the setup: {error}") from error
    return _setup_view(ctx, setup_id, url)


def _setup_view(ctx: Context, setup_id: int, url: str | None = None) -> CardSetupView:
    with ctx.db.transaction() as session:
        row = session.get(BillingCard, setup_id)
        assert row is not None
        return CardSetupView(row.id, row.provider, row.status, url, row.label, row.created_at)


def get_card_setup(ctx: Context, tenant_id: str, setup_id: int) -> CardSetupView:
    with ctx.db.transaction() as session:
        row = session.get(BillingCard, setup_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"No card setup {setup_id}")
    return _setup_view(ctx, setup_id)


def active_card(session: Session, tenant_id: str) -> BillingCard | None:
    return session.scalar(select(BillingCard).where(
        BillingCard.tenant_id == tenant_id, BillingCard.status == "active")
        .order_by(BillingCard.id.desc()).limit(1))


def _card_saved(ctx: Context, session: Session, provider: str, reference: str,
                token: dict[str, str], label: str | None) -> str:
    setup = session.scalar(select(BillingCard).where(BillingCard.reference == reference)
                           .with_for_update())
    if setup is None or setup.provider != provider:
        return "unknown setup"
    if setup.status != "pending":
        return "duplicate"
    subscription = session.scalar(select(Subscription).where(
        Subscription.tenant_id == setup.tenant_id).with_for_update())
    for previous in session.scalars(select(BillingCard).where(
            BillingCard.tenant_id == setup.tenant_id, BillingCard.status == "active")):
        previous.status = "replaced"
    setup.status, setup.label = "active", (label or None)
    setup.token_encrypted = ctx.crypto.encrypt(json.dumps(token))
    if provider == "paystack":  # the card check charged on the page: refunded by a job
        setup.check_refund = "pending"
    if subscription is not None:
        subscription.payment_method = "card"
    log.info("tenant %s saved a %s card for billing", setup.tenant_id, provider)
    return "saved"


def _setup_failed(session: Session, reference: str) -> str:
    setup = session.scalar(select(BillingCard).where(BillingCard.reference == reference)
                           .with_for_update())
    if setup is None or setup.status != "pending":
        return "ignored"
    setup.status = "failed"
    return "failed"


# --- charging a saved card -------------------------------------------------------------------

@dataclass(frozen=True)
class _CardCharge:
    charge_id: int
    key: str
    provider: str
    token: dict[str, str]
    amount_minor: int
    currency: str
    number: str


def load_card_charge(ctx: Context, session: Session, charge: BillingCharge,
                     invoice: Invoice) -> _CardCharge | None:
    card = active_card(session, charge.tenant_id)
    if card is None or card.token_encrypted is None:
        return None
    token = json.loads(ctx.crypto.decrypt(card.token_encrypted))
    return _CardCharge(charge.id, charge.key, card.provider, token, charge.amount_minor,
                       invoice.currency, invoice.number)


def call_provider(ctx: Context, work: _CardCharge) -> CardResult:
    """Charge the saved card once for this charge (its key: Paystack's reference, Stripe's
    idempotency key). A provider that cannot be reached leaves the result unknown: the stale
    charge is then looked up (resolve_stale), never charged blindly again."""
    metadata = {"billing_charge": work.key, "invoice": work.number}
    if work.provider == "paystack":
        client = paystack.PaystackClient(card_setting(ctx, "paystack_secret_key"),
                                         _base(ctx, "paystack"))
        try:
            answer = client.charge_authorization(
                authorization_code=work.token["authorization_code"], email=work.token["email"],
                amount_minor=work.amount_minor, currency=work.currency, reference=work.key,
                metadata=metadata)
        except paystack.PaystackError as error:
            if error.status is None or error.status >= 500:
                return CardResult("unknown", reason=str(error))
            return CardResult("declined", reason=f"Paystack refused the charge: {error}")
        return _paystack_result(answer)
    try:
        charged = stripe_checkout.charge_saved_card(
            secret_key=card_setting(ctx, "stripe_secret_key"), base_url=_base(ctx, "stripe"),
            customer=work.token["customer"], payment_method=work.token["payment_method"],
            amount_minor=work.amount_minor, currency=work.currency, idempotency_key=work.key,
            description=f"Subscription {work.number}", metadata=metadata)
    except stripe_checkout.StripeCheckoutError as error:
        return CardResult("unknown", reason=str(error))
    status = {"succeeded": "paid", "processing": "pending"}.get(charged.status, "declined")
    return CardResult(status, charged.payment_intent, charged.reason, work.amount_minor)


def _paystack_result(answer: paystack.PaystackTransaction) -> CardResult:
    if answer.status == "success":
        return CardResult("paid", answer.reference, amount_minor=answer.amount_minor)
    if answer.status in ("failed", "reversed", "abandoned"):
        return CardResult("declined", answer.reference,
                          answer.gateway_response or f"payment {answer.status}")
    return CardResult("pending", answer.reference)


def lookup(ctx: Context, work: _CardCharge) -> CardResult:
    """What became of a charge whose answer was lost (a worker killed, a provider not
    answering): Paystack's verify of its reference (unknown there: nothing was charged);
    Stripe's PaymentIntent create again under the same idempotency key (answers the first
    result, or charges now when the first call never reached Stripe: once either way)."""
    if work.provider == "stripe":
        return call_provider(ctx, work)
    client = paystack.PaystackClient(card_setting(ctx, "paystack_secret_key"),
                                     _base(ctx, "paystack"))
    try:
        found = client.verify(work.key)
    except paystack.PaystackError as error:
        if error.status == 404:
            return CardResult("declined", reason="the card was not charged (no answer)")
        return CardResult("unknown", reason=str(error))
    return _paystack_result(found)


# --- the providers' webhooks -----------------------------------------------------------------

@dataclass(frozen=True)
class CardEvent:
    """A verified webhook, reduced to what billing needs."""

    kind: str  # setup_saved | setup_failed | charge_paid | charge_failed | other
    reference: str  # a setup's reference or a charge's key
    result: CardResult | None = None
    token: dict[str, str] | None = None
    label: str | None = None


def paystack_event(body: dict[str, Any]) -> CardEvent:
    data = body.get("data") or {}
    reference = str(data.get("reference") or "")
    event = str(body.get("event") or "")
    if reference.startswith(SETUP_PREFIX):
        authorization = paystack.authorization_of(data)
        customer = data.get("customer") or {}
        if event == "charge.success" and authorization is not None and authorization.reusable:
            return CardEvent("setup_saved", reference, token={
                "authorization_code": authorization.authorization_code,
                "email": str(customer.get("email") or "")},
                label=f"{authorization.brand} **** {authorization.last4}")
        if event in ("charge.success", "charge.failed"):
            return CardEvent("setup_failed", reference)  # a card that cannot be charged again
        return CardEvent("other", reference)
    if event == "charge.success":
        return CardEvent("charge_paid", reference, CardResult(
            "paid", reference, amount_minor=int(data.get("amount") or 0)))
    if event == "charge.failed":
        return CardEvent("charge_failed", reference, CardResult(
            "declined", reference, str(data.get("gateway_response") or "declined")))
    return CardEvent("other", reference)


def stripe_event(event: dict[str, Any]) -> CardEvent:
    kind = str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    metadata = obj.get("metadata") or {}
    if kind == "setup_intent.succeeded" and metadata.get("billing_setup"):
        # A SetupIntent names its PaymentMethod only: the label is read from it by a job.
        return CardEvent("setup_saved", str(metadata["billing_setup"]), token={
            "customer": str(obj.get("customer") or ""),
            "payment_method": str(obj.get("payment_method") or "")})
    if kind == "setup_intent.setup_failed" and metadata.get("billing_setup"):
        return CardEvent("setup_failed", str(metadata["billing_setup"]))
    key = str(metadata.get("billing_charge") or "")
    if kind == "payment_intent.succeeded" and key:
        return CardEvent("charge_paid", key, CardResult(
            "paid", str(obj.get("id")), amount_minor=int(obj.get("amount") or 0)))
    if kind == "payment_intent.payment_failed" and key:
        error = obj.get("last_payment_error") or {}
        reason = str(error.get("decline_code") or error.get("code") or "declined")
        return CardEvent("charge_failed", key, CardResult("declined", str(obj.get("id")),
                                                          f"{reason}: {error.get('message', '')}"))
    return CardEvent("other", key)


def apply_card_setup(ctx: Context, provider: str, event: CardEvent) -> str:
    """A setup's webhook: the card saved (once) or the setup failed."""
    with ctx.db.transaction() as session:
        token = event.token or {}
        if event.kind == "setup_failed" or not token or not all(token.values()):
            return _setup_failed(session, event.reference)
        outcome = _card_saved(ctx, session, provider, event.reference, token, event.label)
        card_id = session.scalar(select(BillingCard.id).where(
            BillingCard.reference == event.reference))
    if outcome == "saved":
        ctx.jobs.enqueue(FINISH_CARD_SETUP, card_id)
    return outcome


# --- after a card is saved, and removing it ---------------------------------------------------

def finish_card_setup(ctx: Context, card_id: int, *, final_attempt: bool = True) -> str:
    """The job after a saved card: Paystack's card check refunded, Stripe's label fetched.
    Idempotent: a card already finished is skipped. A provider that cannot be reached raises
    (the job is retried) until the final attempt, which records the failure."""
    with ctx.db.transaction() as session:
        card = session.get(BillingCard, card_id)
        if card is None:
            return "skipped"
        provider, reference, label = card.provider, card.reference, card.label
        refund_due = card.check_refund == "pending"
        token = json.loads(ctx.crypto.decrypt(card.token_encrypted)) \
            if card.token_encrypted else {}
    if provider == "paystack":
        return _refund_check(ctx, card_id, reference, final_attempt) if refund_due \
            else "skipped"
    if label is not None or not token.get("payment_method"):
        return "skipped"
    try:
        found = stripe_checkout.card_of(secret_key=card_setting(ctx, "stripe_secret_key"),
                                        base_url=_base(ctx, "stripe"),
                                        payment_method=token["payment_method"])
    except stripe_checkout.StripeCheckoutError as error:
        if not final_attempt:
            raise
        log.warning("card %s: no label from Stripe: %s", card_id, error)
        return "no label"
    with ctx.db.transaction() as session:
        session.execute(update(BillingCard).where(BillingCard.id == card_id,
                                                  BillingCard.label.is_(None))
                        .values(label=f"{found.brand} **** {found.last4}"[:40]))
    return "labelled"


REFUND_GRACE = timedelta(hours=1)


def unfinished_refunds(ctx: Context, now: datetime) -> list[int]:
    """Saved cards whose card check is still to refund an hour on (the job lost: Redis
    emptied, a worker killed between tries): the billing run queues their job again."""
    with ctx.db.transaction() as session:
        return list(session.scalars(select(BillingCard.id).where(
            BillingCard.check_refund == "pending",
            BillingCard.updated_at < now - REFUND_GRACE).order_by(BillingCard.id).limit(500)))


def _refund_check(ctx: Context, card_id: int, reference: str, final_attempt: bool) -> str:
    client = paystack.PaystackClient(card_setting(ctx, "paystack_secret_key"),
                                     _base(ctx, "paystack"))
    refund_id: str | None = None
    try:
        refund_id = client.refund(reference, merchant_note="Card check for subscription "
                                                           "billing").id
        outcome = "refunded"
    except paystack.PaystackError as error:
        if paystack.FULLY_REVERSED in str(error).lower():
            outcome = "refunded"  # an earlier call went through; its answer was lost
        elif (error.status is None or error.status >= 500) and not final_attempt:
            raise
        else:
            log.warning("card check %s not refunded: %s", reference, error)
            outcome = "failed"
    with ctx.db.transaction() as session:
        taken = session.execute(
            update(BillingCard).where(BillingCard.id == card_id,
                                      BillingCard.check_refund == "pending")
            .values(check_refund=outcome, check_refund_id=refund_id,
                    check_refunded_at=utcnow() if outcome == "refunded" else None)
            .execution_options(synchronize_session=False))
    return outcome if taken.rowcount == 1 else "duplicate"  # type: ignore[attr-defined]


def remove_card(ctx: Context, tenant_id: str) -> None:
    """The owner removes the saved card: its token is deleted, the subscription renews by
    M-Pesa again. 404 without a saved card; 409 while a card charge is in flight (queued,
    sending or pending at the provider: removing it then would leave that charge's outcome
    with no card behind it)."""
    with ctx.db.transaction() as session:
        subscription = session.scalar(select(Subscription).where(
            Subscription.tenant_id == tenant_id).with_for_update())
        card = session.scalar(select(BillingCard).where(
            BillingCard.tenant_id == tenant_id, BillingCard.status == "active")
            .with_for_update())
        if card is None:
            raise NotFound("No card is saved for the subscription")
        in_flight = session.scalar(select(BillingCharge.id).where(
            BillingCharge.tenant_id == tenant_id, BillingCharge.method == "card",
            BillingCharge.status.in_(("queued", "sending", "pending"))).limit(1))
        if in_flight is not None:
            raise Conflict("A card charge is in progress: remove the card once it is settled",
                           {"payment_method": ["A card charge is in progress."]})
        card.status, card.token_encrypted = "removed", None
        if subscription is not None:
            subscription.payment_method = "mpesa"
        record_audit(session, tenant_id, None, "subscription.card_remove",
                     ("billing_card", card.id),
                     {"card": card.label, "provider": card.provider, "payment_method": "card"},
                     {"card": None, "payment_method": "mpesa"})
