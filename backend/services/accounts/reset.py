"""Password reset by a one-time code sent to the user's WhatsApp from the platform's own number.

The request stores the code's keyed hash (to check it) and the code encrypted (for the job only);
the RQ job sends it and forgets the encrypted copy. Nothing is sent inside the request. The
answer never says whether the email is known. A code lives PASSWORD_RESET_MINUTES, allows
MAX_ATTEMPTS guesses and works once; a new one is made at most once a minute per user.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from backend.domain.errors import InvalidInput
from backend.models import PasswordResetCode, User
from backend.providers.twilio import TwilioSendError
from backend.queueing.names import SEND_RESET_CODE
from backend.security import constant_time_equals
from backend.services.accounts.members import revoke_user_access
from backend.services.accounts.passwords import check_password_rule, hash_password
from backend.services.platform.platform_whatsapp import (
    platform_sender_configured,
    send_from_platform,
)
from backend.wiring import Context

log = logging.getLogger(__name__)

CODE_DIGITS = 6
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(minutes=1)
BAD_CODE = "Wrong or expired code; ask for a new one"
MESSAGE = ("Your password reset code is {code}. It expires in {minutes} minutes. "
           "If you did not ask for it, ignore this message.")


def _now() -> datetime:
    return datetime.now(UTC)


def _code_hash(ctx: Context, user_id: int, code: str) -> str:
    return ctx.crypto.keyed_hash(f"password-reset:{user_id}:{code}")


def request_reset(ctx: Context, email: str) -> None:
    """Make a code for a known user with a phone and queue its sending; silent otherwise."""
    now = _now()
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    with ctx.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or user.phone_encrypted is None:
            return
        if not platform_sender_configured(ctx):
            log.warning("password reset asked but PLATFORM_WHATSAPP_NUMBER/PLATFORM_TWILIO_* "
                        "are not set: no code sent")
            return
        recent = session.scalar(select(PasswordResetCode.id).where(
            PasswordResetCode.user_id == user.id, PasswordResetCode.used_at.is_(None),
            PasswordResetCode.created_at > now - RESEND_AFTER))
        if recent is not None:
            return
        session.execute(update(PasswordResetCode).where(
            PasswordResetCode.user_id == user.id, PasswordResetCode.used_at.is_(None)
        ).values(used_at=now))  # one live code at a time
        row = PasswordResetCode(
            user_id=user.id, code_hash=_code_hash(ctx, user.id, code),
            code_encrypted=ctx.crypto.encrypt(code), attempts=0,
            expires_at=now + timedelta(minutes=ctx.settings.password_reset_minutes))
        session.add(row)
        session.flush()
        code_id = row.id
    ctx.jobs.enqueue(SEND_RESET_CODE, code_id)


def send_reset_code(ctx: Context, code_id: int, final_attempt: bool = True) -> str:
    """The job: send the code from the platform's number, then forget it (raising on a
    transient Twilio failure asks for a retry). Returns what happened."""
    s = ctx.settings
    with ctx.db.transaction() as session:
        row = session.get(PasswordResetCode, code_id)
        if row is None or row.code_encrypted is None:
            return "already sent"
        if row.used_at is not None or row.expires_at <= _now():
            row.code_encrypted = None
            return "expired"
        user = session.get_one(User, row.user_id)
        code = ctx.crypto.decrypt(row.code_encrypted)
        phone = ctx.crypto.decrypt(user.phone_encrypted) if user.phone_encrypted else None
    if phone is None:
        return "no phone"
    try:
        send_from_platform(ctx, phone, MESSAGE.format(code=code, minutes=s.password_reset_minutes))
    except TwilioSendError as error:
        if error.transient and not final_attempt:
            raise
        log.warning("password reset code %s not sent: %s", code_id, error)
        outcome = "failed"
    else:
        outcome = "sent"
    with ctx.db.transaction() as session:
        row = session.get_one(PasswordResetCode, code_id)
        row.code_encrypted = None
        if outcome == "sent":
            row.sent_at = _now()
    return outcome


def confirm_reset(ctx: Context, email: str, code: str, new_password: str) -> None:
    """Set a new password with a live code (400 otherwise, the attempt counted); every session
    of the user ends and the login lockout is lifted."""
    normalized = email.strip().lower()
    check_password_rule(new_password, normalized)
    now = _now()
    wrong = False
    with ctx.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == normalized))
        if user is None:
            raise InvalidInput(BAD_CODE)
        row = session.scalar(select(PasswordResetCode).where(
            PasswordResetCode.user_id == user.id, PasswordResetCode.used_at.is_(None),
            PasswordResetCode.expires_at > now, PasswordResetCode.attempts < MAX_ATTEMPTS
        ).order_by(PasswordResetCode.id.desc()).limit(1))
        if row is None:
            raise InvalidInput(BAD_CODE)
        row.attempts += 1
        if not constant_time_equals(_code_hash(ctx, user.id, code.strip()), row.code_hash):
            wrong = True  # the attempt is committed, then refused
        else:
            row.used_at = now
            row.code_encrypted = None
            user.password_hash = hash_password(new_password, ctx.settings)
            user.failed_logins, user.locked_until = 0, None
            revoke_user_access(session, user.id)
    if wrong:
        raise InvalidInput(BAD_CODE)
