"""The local Twilio simulator: takes Messages API calls as Twilio does and records what it got."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.wiring import Context
from backend.domain.errors import DomainError
from backend.domain.phones import InvalidPhoneNumber, is_whatsapp_address, to_e164
from backend.models import Tenant
from backend.sandbox.models import SandboxMessage
from backend.sandbox.twilio_content import SEND_STATUS_CALLBACKS, render_content
from backend.security import constant_time_equals


class TwilioApiError(Exception):
    """An error answered in Twilio's own shape, with Twilio's error code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass(frozen=True)
class TwilioMessageRequest:
    """The form fields of POST .../Messages.json that the simulator uses."""

    from_address: str | None = None
    to_address: str | None = None
    body: str | None = None
    media_urls: Sequence[str] = field(default_factory=tuple)
    status_callback: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None


@dataclass(frozen=True)
class SandboxMessageView:
    id: int
    sid: str
    tenant_id: str | None  # None: sent from the platform's own number
    account_sid: str
    from_address: str
    to_address: str
    body: str | None
    media_url: str | None
    status_callback: str | None
    created_at: datetime
    content_sid: str | None = None
    interactive: dict[str, Any] | None = None  # a list picker's or quick reply's shown content


def _authenticate(
    ctx: Context, account_sid: str, credentials: tuple[str, str] | None, tenants: Sequence[Tenant]
) -> None:
    username, password = credentials or ("", "")
    valid = bool(tenants) and constant_time_equals(username, account_sid)
    tokens = [ctx.crypto.decrypt(t.twilio_auth_token_encrypted) for t in tenants]
    if not (valid and any(constant_time_equals(password, token) for token in tokens)):
        raise TwilioApiError(401, 20003, "Authenticate")


def _sender(request: TwilioMessageRequest, tenants: Sequence[Tenant]) -> Tenant:
    """The tenant whose number sends the message (Twilio checks From belongs to the account)."""
    raw = (request.from_address or "").strip()
    if not raw:
        raise TwilioApiError(400, 21603, "A 'From' phone number is required.")
    try:
        number = to_e164(raw, field="From")
    except InvalidPhoneNumber:
        number = None
    for tenant in tenants:
        if tenant.whatsapp_number == number:
            return tenant
    if is_whatsapp_address(raw):
        raise TwilioApiError(
            400, 63007, "Twilio could not find a Channel with the specified From address"
        )
    raise TwilioApiError(
        400,
        21606,
        f"The From phone number {raw} is not a valid, SMS-capable inbound phone number "
        "or short code for your account.",
    )


def _recipient(request: TwilioMessageRequest) -> str:
    raw = (request.to_address or "").strip()
    if not raw:
        raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
    try:
        return to_e164(raw, field="To")
    except DomainError:
        raise TwilioApiError(
            400, 21211, f"The 'To' number {raw} is not a valid phone number."
        ) from None


def _content(request: TwilioMessageRequest) -> tuple[str | None, str | None]:
    if len(request.media_urls) > 1:
        raise TwilioApiError(400, 21620, "WhatsApp messages carry at most one MediaUrl.")
    media_url = request.media_urls[0] if request.media_urls else None
    if not request.body and not media_url:
        raise TwilioApiError(400, 21602, "Message body is required.")
    return request.body or None, media_url


def _view(message: SandboxMessage, tenant: Tenant | None, to_address: str,
          platform_sid: str = "") -> SandboxMessageView:
    return SandboxMessageView(
        id=message.id,
        sid=message.sid,
        tenant_id=message.tenant_id,
        account_sid=tenant.twilio_account_sid if tenant is not None else platform_sid,
        from_address=message.from_address,
        to_address=to_address,
        body=message.body,
        media_url=message.media_url,
        status_callback=message.status_callback,
        created_at=message.created_at,
        content_sid=message.content_sid,
        interactive=message.interactive,
    )


@dataclass(frozen=True)
class SandboxAccountView:
    """Twilio's Account resource as the simulator knows it: the account its tenants use."""

    sid: str
    friendly_name: str
    created_at: datetime


def fetch_account(
    ctx: Context, account_sid: str, credentials: tuple[str, str] | None
) -> SandboxAccountView:
    """GET /2010-04-01/Accounts/{Sid}.json: 401 (20003) unless the credentials are the account's."""
    with ctx.db.transaction() as session:
        tenants = session.scalars(
            select(Tenant).where(Tenant.twilio_account_sid == account_sid)
            .order_by(Tenant.created_at, Tenant.id)
        ).all()
        _authenticate(ctx, account_sid, credentials, tenants)
        first = tenants[0]
        return SandboxAccountView(sid=account_sid, friendly_name=first.name,
                                  created_at=first.created_at)


def _is_platform_account(ctx: Context, account_sid: str) -> bool:
    platform = ctx.settings.platform_twilio_account_sid
    return bool(platform) and constant_time_equals(account_sid, platform)


def _receive_platform_message(
    ctx: Context, credentials: tuple[str, str] | None, request: TwilioMessageRequest
) -> SandboxMessageView:
    """A message from the platform's own number (password-reset codes): no tenant sends it."""
    settings = ctx.settings
    username, password = credentials or ("", "")
    if not (constant_time_equals(username, settings.platform_twilio_account_sid)
            and constant_time_equals(password, settings.platform_twilio_auth_token)):
        raise TwilioApiError(401, 20003, "Authenticate")
    try:
        sender = to_e164((request.from_address or "").strip() or "-", field="From")
    except InvalidPhoneNumber:
        sender = None
    if sender != settings.platform_whatsapp_number:
        raise TwilioApiError(400, 63007,
                             "Twilio could not find a Channel with the specified From address")
    to_number = _recipient(request)
    body, media_url = _content(request)
    to_address = (request.to_address or "").strip()
    with ctx.db.transaction() as session:
        message = SandboxMessage(
            tenant_id=None, sid=f"SM{uuid.uuid4().hex}",
            from_address=(request.from_address or "").strip(),
            to_encrypted=ctx.crypto.encrypt(to_address),
            to_hash=ctx.crypto.keyed_hash(to_number), body=body, media_url=media_url)
        session.add(message)
        session.flush()
        return _view(message, None, to_address, settings.platform_twilio_account_sid)


def receive_message(
    ctx: Context,
    account_sid: str,
    credentials: tuple[str, str] | None,
    request: TwilioMessageRequest,
) -> SandboxMessageView:
    """Check the call as Twilio would (auth, From, To, content) and record the message."""
    if _is_platform_account(ctx, account_sid):
        return _receive_platform_message(ctx, credentials, request)
    with ctx.db.transaction() as session:
        tenants = session.scalars(
            select(Tenant).where(Tenant.twilio_account_sid == account_sid).order_by(Tenant.id)
        ).all()
        _authenticate(ctx, account_sid, credentials, tenants)
        tenant = _sender(request, tenants)
        to_number = _recipient(request)
        interactive = None
        if request.content_sid:
            rendered = render_content(ctx, tenant.id, request.content_sid,
                                      request.content_variables)
            if rendered is None:
                raise TwilioApiError(400, 21655, "The ContentSid is invalid, not approved, or "
                                     "its ContentVariables do not fill it.")
            body, interactive = rendered
            media_url = None
        else:
            body, media_url = _content(request)
        to_address = (request.to_address or "").strip()
        message = SandboxMessage(
            tenant_id=tenant.id,
            sid=f"SM{uuid.uuid4().hex}",
            from_address=(request.from_address or "").strip(),
            to_encrypted=ctx.crypto.encrypt(to_address),
            to_hash=ctx.crypto.keyed_hash(to_number),
            body=body,
            media_url=media_url,
            status_callback=request.status_callback or None,
            content_sid=request.content_sid or None,
            interactive=interactive,
        )
        session.add(message)
        session.flush()
        view = _view(message, tenant, to_address)
    if view.status_callback:
        ctx.jobs.enqueue(SEND_STATUS_CALLBACKS, view.id)
    return view


def list_messages(
    ctx: Context, tenant_id: str | None = None, to: str | None = None, after: int | None = None
) -> list[SandboxMessageView]:
    """What the simulator received, in arrival order; tenant_id None means every tenant."""
    query = select(SandboxMessage, Tenant).outerjoin(Tenant, Tenant.id == SandboxMessage.tenant_id)
    if tenant_id is not None:
        query = query.where(SandboxMessage.tenant_id == tenant_id)
    if to:
        query = query.where(SandboxMessage.to_hash == ctx.crypto.keyed_hash(to_e164(to, "to")))
    if after is not None:
        query = query.where(SandboxMessage.id > after)
    with ctx.db.transaction() as session:
        rows = session.execute(query.order_by(SandboxMessage.id)).all()
        platform = ctx.settings.platform_twilio_account_sid
        return [_view(m, t, ctx.crypto.decrypt(m.to_encrypted), platform) for m, t in rows]
