"""The platform's own WhatsApp sender (PLATFORM_WHATSAPP_NUMBER and its Twilio account): what
the platform tells merchants' staff (password-reset codes, billing reminders), never a tenant's
number. In sandbox mode it is a simulator-only account and messages land in the simulator's
outbox with no tenant. Call it from a job, never inside a request."""

from __future__ import annotations

from backend.domain.phones import whatsapp_address
from backend.providers.twilio import SentMessage, TwilioSender
from backend.wiring import Context


def platform_sender_configured(ctx: Context) -> bool:
    s = ctx.settings
    return bool(s.platform_whatsapp_number and s.platform_twilio_account_sid
                and s.platform_twilio_auth_token)


def send_from_platform(ctx: Context, to_e164: str, body: str) -> SentMessage:
    """Send `body` to a WhatsApp number from the platform's number (raises TwilioSendError,
    whose `transient` says whether a retry may succeed)."""
    s = ctx.settings
    sender = TwilioSender(s.platform_twilio_account_sid, s.platform_twilio_auth_token,
                          s.twilio_base_url(s.sandbox))
    return sender.send(from_=whatsapp_address(s.platform_whatsapp_number),
                       to=whatsapp_address(to_e164), body=body)
