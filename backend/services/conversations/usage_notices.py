"""The 80 % usage warning pushed to the merchant: each warning is told on WhatsApp, from the
platform's own number (PLATFORM_WHATSAPP_NUMBER), to every owner and admin of the tenant with a
phone on their user record, in the tenant's first language (kit/texts.yml `usage_warning`).

One notice row per (warning, user) is recorded in the transaction that records the warning; the
job is enqueued after that commits, and the scheduler's usage sweep enqueues it again for rows
still queued (a lost job). A row is claimed (queued → sending) before its message goes out, so a
job run twice or by two workers sends it once.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from backend.models import Membership, Tenant, UsageWarning, UsageWarningNotice, User
from backend.models.base import utcnow
from backend.providers.twilio import TwilioSendError
from backend.queueing.names import NOTIFY_USAGE_WARNING
from backend.queueing.runner import JobQueueUnavailable
from backend.services.platform.platform_whatsapp import (
    platform_sender_configured,
    send_from_platform,
)
from backend.wiring import Context
from kit import texts

log = logging.getLogger(__name__)

# Who is told: the roles that run the shop (a custom role or a viewer is not).
TOLD_ROLES = ("owner", "admin")
AFTER_COMMIT = "usage_warnings_to_notify"  # session.info: warnings whose job waits for the commit


def record_notices(session: Session, ctx: Context, warning: UsageWarning) -> int:
    """Inside the transaction recording `warning`: one queued notice per owner and admin with a
    phone, and the job enqueued once that transaction commits. Returns how many."""
    users = session.scalars(
        select(User.id).join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == warning.tenant_id, Membership.role.in_(TOLD_ROLES),
               User.phone_encrypted.is_not(None))
        .order_by(User.id)).all()
    session.add_all(UsageWarningNotice(usage_warning_id=warning.id, user_id=user_id,
                                       status="queued") for user_id in users)
    if users:
        _enqueue_after_commit(session, ctx, warning.id)
    return len(users)


def _enqueue_after_commit(session: Session, ctx: Context, warning_id: int) -> None:
    """Enqueue the job once the session's transaction commits (a savepoint's release also
    fires after_commit: those are skipped; a rollback forgets the list)."""
    waiting: list[int] | None = session.info.get(AFTER_COMMIT)
    if waiting is None:
        waiting = session.info[AFTER_COMMIT] = []

        def committed(committed_session: Session) -> None:
            if committed_session.in_nested_transaction():
                return
            ready = list(committed_session.info[AFTER_COMMIT])
            committed_session.info[AFTER_COMMIT].clear()
            for warning in ready:
                enqueue_notices(ctx, warning)

        def rolled_back(rolled_back_session: Session) -> None:
            if not rolled_back_session.in_nested_transaction():
                rolled_back_session.info[AFTER_COMMIT].clear()

        event.listen(session, "after_commit", committed)
        event.listen(session, "after_rollback", rolled_back)
    waiting.append(warning_id)


def enqueue_notices(ctx: Context, warning_id: int) -> None:
    """Hand a warning's queued notices to the job; never raises (the sweep tries again)."""
    try:
        ctx.jobs.enqueue(NOTIFY_USAGE_WARNING, warning_id)
    except JobQueueUnavailable as error:
        log.warning("usage warning %s notices stay queued for the sweep: %s", warning_id, error)


def requeue_stale_notices(ctx: Context, now: datetime | None = None) -> int:
    """The sweep's part: enqueue again the warnings whose notices sat queued for
    OUTBOX_STALE_SECONDS (their job was lost); the claims make a duplicate job harmless."""
    before = (now or utcnow()) - timedelta(seconds=ctx.settings.outbox_stale_seconds)
    with ctx.db.transaction() as session:
        warnings = session.scalars(
            select(UsageWarningNotice.usage_warning_id).distinct()
            .where(UsageWarningNotice.status == "queued", UsageWarningNotice.created_at < before)
            .order_by(UsageWarningNotice.usage_warning_id)).all()
    for warning_id in warnings:
        enqueue_notices(ctx, warning_id)
    return len(warnings)


def notice_counts(session: Session, warning_ids: list[int]) -> dict[int, dict[str, int]]:
    """How each warning's notices stand: {warning id: {status: count}}."""
    counts: dict[int, dict[str, int]] = {warning_id: {} for warning_id in warning_ids}
    rows = session.execute(
        select(UsageWarningNotice.usage_warning_id, UsageWarningNotice.status, func.count())
        .where(UsageWarningNotice.usage_warning_id.in_(warning_ids))
        .group_by(UsageWarningNotice.usage_warning_id, UsageWarningNotice.status)).all()
    for warning_id, status, count in rows:
        counts[warning_id][status] = int(count)
    return counts


def warning_text(warning: UsageWarning, tenant: Tenant) -> str:
    """The message, in the tenant's first language: the share used, the allowance, and what
    happens at 100 % (a day's messages wait for the next day; a month's are refused)."""
    return texts.text(f"usage_warning.{warning.period}", tenant.primary_language).format(
        shop=tenant.name, percent=warning.used * 100 // max(1, warning.allowed),
        used=f"{warning.used:,}", allowed=f"{warning.allowed:,}", tier=tenant.tier)


def send_notices(ctx: Context, warning_id: int, final_attempt: bool = True) -> dict[str, int]:
    """The job: send each queued notice of the warning once. A transient Twilio failure puts
    that notice back in the queue and raises after the others, asking for a retry."""
    with ctx.db.transaction() as session:
        ids = session.scalars(select(UsageWarningNotice.id).where(
            UsageWarningNotice.usage_warning_id == warning_id,
            UsageWarningNotice.status == "queued").order_by(UsageWarningNotice.id)).all()
    outcomes: Counter[str] = Counter()
    retry: TwilioSendError | None = None
    for notice_id in ids:
        try:
            outcomes[_send_one(ctx, notice_id, final_attempt)] += 1
        except TwilioSendError as error:
            retry = error
    if retry is not None:
        raise retry
    return dict(outcomes)


def _send_one(ctx: Context, notice_id: int, final_attempt: bool) -> str:
    with ctx.db.transaction() as session:
        claimed = session.execute(update(UsageWarningNotice).where(
            UsageWarningNotice.id == notice_id, UsageWarningNotice.status == "queued"
        ).values(status="sending"))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return "taken"  # another run has it
        notice = session.get_one(UsageWarningNotice, notice_id)
        warning = session.get_one(UsageWarning, notice.usage_warning_id)
        tenant = session.get_one(Tenant, warning.tenant_id)
        user = session.get_one(User, notice.user_id)
        role = session.scalar(select(Membership.role).where(
            Membership.tenant_id == tenant.id, Membership.user_id == user.id))
        phone = ctx.crypto.decrypt(user.phone_encrypted) if user.phone_encrypted else None
        body = warning_text(warning, tenant)
    if role not in TOLD_ROLES:
        return _finish(ctx, notice_id, "unsent", "no longer an owner or admin of the tenant")
    if phone is None:
        return _finish(ctx, notice_id, "unsent", "the user has no phone any more")
    if not platform_sender_configured(ctx):
        return _finish(ctx, notice_id, "unsent",
                       "PLATFORM_WHATSAPP_NUMBER and PLATFORM_TWILIO_* are not set")
    try:
        sent = send_from_platform(ctx, phone, body)
    except TwilioSendError as error:
        if error.transient and not final_attempt:
            _finish(ctx, notice_id, "queued", None)  # released for the retry
            raise
        log.warning("usage warning notice %s not sent: Twilio error %s", notice_id, error.code)
        return _finish(ctx, notice_id, "failed", str(error))
    return _finish(ctx, notice_id, "sent", None, sent.sid)


def _finish(ctx: Context, notice_id: int, status: str, detail: str | None,
            sid: str | None = None) -> str:
    with ctx.db.transaction() as session:
        row = session.get(UsageWarningNotice, notice_id, with_for_update=True)
        if row is not None and row.status == "sending":
            row.status, row.message_sid = status, sid
            row.detail = detail[:200] if detail else None
            row.sent_at = utcnow() if status == "sent" else None
    return status
