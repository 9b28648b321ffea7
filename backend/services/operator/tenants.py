"""The platform operator's side of tenants: onboarding a merchant, testing its Twilio account,
finding tenants, suspending and reactivating them with a reason.

Secrets: the Twilio auth token is encrypted by add_tenant and only decrypted for the connection
test; no view here carries it, and only the last four characters of the Account SID are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.wiring import Context
from backend.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from backend.domain.phones import to_e164
from backend.domain.tenant_settings import LANGUAGES
from backend.models import Tenant, TenantOnboarding, TenantStatusChange
from backend.models.base import utcnow
from backend.providers.twilio import TwilioSendError, fetch_account
from backend.services.accounts.members import OWNER, Actor, invite
from backend.services.platform.audit import record_audit
from backend.services.platform.fee_waivers import waiver_in_force
from backend.services.platform.pages import Page, fetch_page
from backend.services.platform.tenants import NewTenant, add_tenant, require_tenant
from backend.services.platform.usage import settings_with_usage

SUSPENDED, ACTIVE = "suspended", "active"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    tested_at: datetime
    error: str | None  # Twilio's answer when not ok (never the credentials)
    account_status: str | None  # Twilio's status of the account when ok (active, suspended...)


@dataclass(frozen=True)
class TenantSummary:
    """A tenant as the operator lists it (no secrets)."""

    id: str
    name: str
    whatsapp_number: str
    status: str
    tier: str
    sandbox: bool
    twilio_account: str  # "AC…1234": enough to recognise it, not to use it
    created_at: datetime


def _mask_sid(sid: str) -> str:
    return f"{sid[:2]}…{sid[-4:]}"


def _summary(tenant: Tenant) -> TenantSummary:
    return TenantSummary(id=tenant.id, name=tenant.name, whatsapp_number=tenant.whatsapp_number,
                         status=tenant.status, tier=tenant.tier, sandbox=tenant.sandbox,
                         twilio_account=_mask_sid(tenant.twilio_account_sid),
                         created_at=tenant.created_at)


def _check_languages(primary: str, languages: list[str]) -> list[str]:
    chosen = list(dict.fromkeys([primary, *languages]))  # the primary first, no repeats
    unknown = [language for language in chosen if language not in LANGUAGES]
    if unknown:
        raise InvalidInput(f"Unknown language(s) {', '.join(unknown)}; one of "
                           f"{', '.join(LANGUAGES)}", {"languages": ["Unknown language."]})
    return chosen


def create_tenant(ctx: Context, new: NewTenant, languages: list[str], owner_email: str,
                  actor: str, invited_by: int | None = None) -> dict[str, Any]:
    """Create the tenant and its onboarding record in one transaction (409 on a taken slug or
    number), then invite its owner (accounts' invitation link, returned this once as
    `owner_invitation_link` for the operator to pass on)."""
    chosen = _check_languages(new.primary_language, languages)
    try:
        with ctx.db.transaction() as session:
            if not add_tenant(ctx, session, new):
                raise Conflict(f"The slug {new.id!r} is taken", {"slug": ["Already taken."]})
            session.add(TenantOnboarding(
                tenant_id=new.id, languages=chosen, created_by=actor,
                owner_email_encrypted=ctx.crypto.encrypt(owner_email.strip().lower())))
            tenant = require_tenant(session, new.id)
            record_audit(session, new.id, actor, "tenant.create", ("tenant", new.id), after={
                **vars(_summary(tenant)), "languages": chosen,
                "timezone": tenant.timezone, "primary_language": tenant.primary_language,
                "owner_email": owner_email.strip().lower()})
            # The credentials as set: the SID masked, the auth token only as "[redacted]"
            # (audit.masked drops every value under a key naming a token or secret).
            record_audit(session, new.id, actor, "tenant.twilio_credentials_set",
                         ("tenant", new.id), after={
                             "twilio_account": _mask_sid(tenant.twilio_account_sid),
                             "twilio_auth_token": new.twilio_auth_token,
                             "sandbox": tenant.sandbox})
    except IntegrityError:  # a concurrent creation won the race for the slug or the number
        raise Conflict("The slug or the WhatsApp number was just taken") from None
    invitation = invite(ctx, new.id, owner_email, OWNER, invited_by,
                        Actor(user_id=invited_by, is_platform=True))
    with ctx.db.transaction() as session:
        onboarding = session.get(TenantOnboarding, new.id, with_for_update=True)
        if onboarding is not None:
            onboarding.owner_invited_at = utcnow()
    return {**operator_view(ctx, new.id), "owner_invitation_link": invitation.link}


def _onboarding(session: Session, tenant_id: str) -> TenantOnboarding | None:
    return session.get(TenantOnboarding, tenant_id)


def operator_view(ctx: Context, tenant_id: str) -> dict[str, Any]:
    """Settings, usage, and what only the operator sees: languages, owner invitation, last
    Twilio test, suspension reason, fee waiver in force."""
    view = settings_with_usage(ctx, tenant_id)
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        onboarding = _onboarding(session, tenant_id)
        change = session.scalars(select(TenantStatusChange)
                                 .where(TenantStatusChange.tenant_id == tenant_id)
                                 .order_by(TenantStatusChange.id.desc()).limit(1)).first()
        waiver = waiver_in_force(session, tenant_id, utcnow())
        summary = _summary(tenant)
        view.update(
            sandbox=summary.sandbox,
            twilio_account=summary.twilio_account,
            languages=onboarding.languages if onboarding else [tenant.primary_language],
            owner_invitation=(None if onboarding is None or onboarding.owner_email_encrypted is None
                              else "sent" if onboarding.owner_invited_at else "pending"),
            twilio_test=None if onboarding is None or onboarding.twilio_tested_at is None else {
                "ok": onboarding.twilio_test_ok, "tested_at": onboarding.twilio_tested_at,
                "error": onboarding.twilio_test_error},
            status_reason=(change.reason if change and change.status == tenant.status else None),
            status_changed_at=change.created_at if change else None,
            fee_waiver_id=waiver.id if waiver else None,
        )
        if waiver is not None:
            view["usage"]["fee_basis_points"] = 0
    return view


def _run_test(account_sid: str, token: str, base_url: str) -> ConnectionTest:
    now = utcnow()
    if not base_url:
        return ConnectionTest(False, now, "No Twilio API URL is configured for this mode", None)
    try:
        account = fetch_account(account_sid, token, base_url)
    except TwilioSendError as error:
        return ConnectionTest(False, now, str(error)[:MAX_ERROR_LENGTH], None)
    if account.status != "active":
        return ConnectionTest(False, now, f"The Twilio account is {account.status}",
                              account.status)
    return ConnectionTest(True, now, None, account.status)


def check_credentials(ctx: Context, account_sid: str, auth_token: str,
                     sandbox: bool) -> ConnectionTest:
    """Try credentials before a tenant holds them (nothing stored)."""
    return _run_test(account_sid, auth_token, ctx.settings.twilio_base_url(sandbox_tenant=sandbox))


def check_connection(ctx: Context, tenant_id: str, actor: str) -> ConnectionTest:
    """Fetch the tenant's Twilio account with its stored credentials (the simulator for sandbox
    tenants) and keep the result on the tenant. Runs in the operator's request: one attempt,
    bounded by the client's timeout (providers.twilio.CONNECTION_TEST_TIMEOUT_SECONDS)."""
    with ctx.db.transaction() as session:  # closed before the network call
        tenant = require_tenant(session, tenant_id)
        sid, sandbox = tenant.twilio_account_sid, tenant.sandbox
        token = ctx.crypto.decrypt(tenant.twilio_auth_token_encrypted)
    result = _run_test(sid, token, ctx.settings.twilio_base_url(sandbox_tenant=sandbox))
    with ctx.db.transaction() as session:
        onboarding = _onboarding(session, tenant_id)
        if onboarding is None:  # a tenant the seed made: its record starts with this test
            onboarding = TenantOnboarding(tenant_id=tenant_id, created_by=actor,
                                          languages=[require_tenant(session, tenant_id)
                                                     .primary_language])
            session.add(onboarding)
        onboarding.twilio_tested_at = result.tested_at
        onboarding.twilio_test_ok = result.ok
        onboarding.twilio_test_error = result.error
        record_audit(session, tenant_id, actor, "tenant.twilio_test", ("tenant", tenant_id),
                     after=result)
    return result


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _number_digits(q: str) -> str:
    """The digits to look for in E.164 numbers: a whole number in any form ('0711…',
    'whatsapp:+254711…') becomes its E.164 digits; a fragment is taken as it is."""
    try:
        return to_e164(q, field="q").lstrip("+")
    except DomainError:
        return "".join(ch for ch in q if ch.isdigit())


def list_tenants(ctx: Context, *, q: str | None = None, status: str | None = None,
                 tier: str | None = None, page: int = 1,
                 page_size: int = 50) -> Page[TenantSummary]:
    """Tenants by slug; `q` matches the name, the slug or the digits of the WhatsApp number."""
    query = select(Tenant)
    if q and q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        matches = [Tenant.name.ilike(pattern, escape="\\"), Tenant.id.ilike(pattern, escape="\\")]
        digits = _number_digits(q)
        if len(digits) >= 3:
            matches.append(Tenant.whatsapp_number.like(f"%{digits}%"))
        query = query.where(or_(*matches))
    if status:
        query = query.where(Tenant.status == status)
    if tier:
        query = query.where(Tenant.tier == tier)
    with ctx.db.transaction() as session:
        count, rows = fetch_page(session, query, page, page_size, Tenant.id)
        return Page(count, page, page_size, [_summary(tenant) for tenant in rows])


def _change_status(ctx: Context, tenant_id: str, status: str, reason: str, actor: str) -> None:
    if not reason.strip():
        raise InvalidInput("A reason is required", {"reason": ["Give a reason."]})
    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id, with_for_update=True)
        if tenant is None:
            raise NotFound(f"Unknown tenant {tenant_id!r}")
        if status == SUSPENDED and tenant.status == SUSPENDED:
            raise Conflict(f"{tenant_id} is already suspended")
        if status == ACTIVE and tenant.status != SUSPENDED:
            raise Conflict(f"{tenant_id} is not suspended (status {tenant.status})")
        before = {"status": tenant.status}
        tenant.status = status
        session.add(TenantStatusChange(tenant_id=tenant_id, status=status, reason=reason.strip(),
                                       actor=actor))
        record_audit(session, tenant_id, actor,
                     "tenant.suspend" if status == SUSPENDED else "tenant.reactivate",
                     ("tenant", tenant_id), before, {"status": status, "reason": reason.strip()})


def suspend(ctx: Context, tenant_id: str, reason: str, actor: str) -> dict[str, Any]:
    """Suspend a tenant: its customers get the channel's 'cannot take messages' notice
    (bot/channels/merchant_status.py) and no business-initiated message goes out."""
    _change_status(ctx, tenant_id, SUSPENDED, reason, actor)
    return operator_view(ctx, tenant_id)


def reactivate(ctx: Context, tenant_id: str, reason: str, actor: str) -> dict[str, Any]:
    _change_status(ctx, tenant_id, ACTIVE, reason, actor)
    return operator_view(ctx, tenant_id)
