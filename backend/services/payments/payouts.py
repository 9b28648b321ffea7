"""Paying approved withdrawals out through the platform's Daraja B2C account."""

from __future__ import annotations

from backend.wiring import Context
from backend.providers.daraja import DarajaClient, DarajaError
from backend.queueing.names import PAY_WITHDRAWAL
from backend.services.payments.settings import payout_token
from backend.services.payments.wallets import finish_payout, payout_accepted, payout_request, start_payouts


def queue_payouts(ctx: Context) -> list[int]:
    """The operator's run: every approved withdrawal moves to processing and gets a job."""
    ids = start_payouts(ctx)
    for withdrawal_id in ids:
        ctx.jobs.enqueue(PAY_WITHDRAWAL, withdrawal_id)
    return ids


# Sandbox only, when PAYOUT_* is unset: the simulator's test account.
SANDBOX_PAYOUT = {"consumer_key": "platform-sandbox-key", "consumer_secret": "platform-sandbox-"
                  "secret", "shortcode": "600000", "initiator": "testapi",
                  "security_credential": "c2FuZGJveC1zZWN1cml0eS1jcmVkZW50aWFs"}


def b2c_setting(ctx: Context, name: str) -> str:
    """One of the platform's B2C account settings (PAYOUT_*; the simulator's in the sandbox)."""
    value = str(getattr(ctx.settings, f"payout_{name}"))
    return value or (SANDBOX_PAYOUT[name] if ctx.settings.sandbox else "")


def b2c_client(ctx: Context) -> DarajaClient:
    """The platform's B2C account (payouts and customers' refunds)."""
    settings = ctx.settings
    url = settings.payout_daraja_url or (f"{settings.payments_sandbox_url}/daraja"
                                         if settings.sandbox else "")
    return DarajaClient(url, b2c_setting(ctx, "consumer_key"), b2c_setting(ctx, "consumer_secret"))


def send_payout(ctx: Context, withdrawal_id: int, final_attempt: bool) -> str:
    request = payout_request(ctx, withdrawal_id)
    if request is None:
        return "skipped"
    settings = ctx.settings
    root = f"{settings.public_url}/webhooks/mpesa/payouts/{payout_token(ctx)}"
    try:
        answer = b2c_client(ctx).b2c_payment(
            originator_conversation_id=request.originator_conversation_id,
            initiator=b2c_setting(ctx, "initiator"),
            security_credential=b2c_setting(ctx, "security_credential"),
            amount_shillings=request.amount_minor // 100, party_a=b2c_setting(ctx, "shortcode"),
            party_b=request.phone.lstrip("+"), remarks=f"Withdrawal {withdrawal_id}",
            queue_timeout_url=f"{root}/timeout", result_url=f"{root}/result",
            occasion=request.tenant_id)
    except DarajaError as error:
        transient = error.status is None or error.status >= 500
        if transient and not final_attempt:
            raise
        return finish_payout(ctx, request.originator_conversation_id, False,
                             f"B2C refused: {error}")
    payout_accepted(ctx, withdrawal_id, str(answer.get("ConversationID") or ""))
    return "sent"
