"""Signing in: browser sessions (a cookie token and a CSRF token, both stored hashed, with an
expiry and the tenant being worked on) and personal access tokens for scripts; logging in is
locked for a while after too many wrong passwords in a row."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from backend.domain.errors import NotFound, TooManyAttempts, Unauthenticated, Unprocessable
from backend.domain.permissions import unknown_scopes
from backend.models import Membership, PersonalAccessToken, User, UserSession
from backend.security import constant_time_equals, hash_api_key
from backend.services.accounts.access import membership, scopes_for
from backend.services.accounts.passwords import (
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from backend.services.accounts.users import MembershipView, UserView, memberships_of, user_view
from backend.services.platform.audit import record_audit
from backend.services.platform.tenants import TenantSettings, settings_in
from backend.wiring import Context

# Personal access tokens start with this, which tells them from the service token.
TOKEN_PREFIX = "wcpat_"
TOKEN_PREFIX_LENGTH = 12
SESSION_COOKIE = "wca_session"
BAD_LOGIN = "Wrong email or password"


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie's value
    csrf_token: str  # sent back in X-CSRF-Token on unsafe methods
    expires_at: datetime
    user: UserView
    tenant_id: str | None


@dataclass(frozen=True)
class SignedIn:
    """A user behind a request: by session (session_id set) or by token (token_scopes)."""

    user_id: int
    is_operator: bool
    tenant_id: str | None  # the session's current tenant, or the token's tenant
    session_id: int | None = None
    csrf_hash: str | None = None
    token_scopes: frozenset[str] | None = None  # a token's narrower scopes (None: the user's)


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    prefix: str
    tenant_id: str
    scopes: list[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class NewToken:
    token: TokenView
    raw_token: str  # returned once


def _now() -> datetime:
    return datetime.now(UTC)


def _first_tenant(session: object, user_id: int) -> str | None:
    return session.scalar(  # type: ignore[attr-defined, no-any-return]
        select(Membership.tenant_id).where(Membership.user_id == user_id)
        .order_by(Membership.id).limit(1))


def login(ctx: Context, email: str, password: str, tenant_id: str | None = None) -> NewSession:
    """A new session for the right password (401 otherwise, the same for an unknown email);
    429 while the account is locked after LOGIN_LOCKOUT_FAILURES wrong passwords in a row."""
    now = _now()
    settings = ctx.settings
    failure: Exception | None = None
    with ctx.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            verify_password(dummy_hash(settings), password)
            raise Unauthenticated(BAD_LOGIN)
        if user.locked_until is not None and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(f"Too many wrong passwords: this account is locked for "
                                  f"{minutes} more minute(s), or reset the password")
        if not verify_password(user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= settings.login_lockout_failures:
                user.failed_logins = 0
                user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            failure = Unauthenticated(BAD_LOGIN)  # raised after the count is committed
        else:
            user.failed_logins, user.locked_until = 0, None
            if needs_rehash(user.password_hash, settings):
                user.password_hash = hash_password(password, settings)
            if tenant_id is not None and membership(session, tenant_id, user.id) is None:
                raise NotFound(f"No tenant {tenant_id}")
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            expires = now + timedelta(hours=settings.session_lifetime_hours)
            chosen = tenant_id or _first_tenant(session, user.id)
            session.add(UserSession(user_id=user.id, token_hash=hash_api_key(token),
                                    csrf_hash=hash_api_key(csrf), tenant_id=chosen,
                                    expires_at=expires))
            started = NewSession(token, csrf, expires, user_view(user), chosen)
    if failure is not None:
        raise failure
    return started


def session_user(ctx: Context, token: str) -> SignedIn:
    """The live (unexpired, unrevoked) session a cookie names; 401 otherwise."""
    with ctx.db.transaction() as session:
        row = session.execute(select(UserSession, User.is_operator)
                              .join(User, User.id == UserSession.user_id)
                              .where(UserSession.token_hash == hash_api_key(token))).first()
        if row is None or row[0].revoked_at is not None or row[0].expires_at <= _now():
            raise Unauthenticated("The session has ended; log in again")
        found, is_operator = row
        return SignedIn(found.user_id, bool(is_operator), found.tenant_id, found.id,
                        found.csrf_hash)


def csrf_matches(signed_in: SignedIn, csrf_token: str) -> bool:
    return bool(csrf_token) and signed_in.csrf_hash is not None and constant_time_equals(
        hash_api_key(csrf_token), signed_in.csrf_hash)


def logout(ctx: Context, session_id: int) -> None:
    with ctx.db.transaction() as session:
        row = session.get(UserSession, session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = _now()


def switch_tenant(ctx: Context, session_id: int, user_id: int, tenant_id: str) -> None:
    """Work on another tenant the user belongs to (404 for any other tenant)."""
    with ctx.db.transaction() as session:
        if membership(session, tenant_id, user_id) is None:
            raise NotFound(f"No tenant {tenant_id}")
        session.get_one(UserSession, session_id).tenant_id = tenant_id


def member_scopes(ctx: Context, tenant_id: str, user_id: int) -> frozenset[str] | None:
    with ctx.db.transaction() as session:
        return scopes_for(session, tenant_id, user_id)


@dataclass(frozen=True)
class MemberView:
    """What a signed-in page shows of its person: who, their shops, and on the session's shop
    their scopes (None: not a member) and its settings (None with them)."""

    user: UserView
    memberships: list[MembershipView]
    scopes: frozenset[str] | None
    tenant: TenantSettings | None


def member_view(ctx: Context, user_id: int, tenant_id: str | None) -> MemberView:
    """The user, their shops, their scopes on `tenant_id` and its settings, in one transaction
    (a web page reads them once, before anything else)."""
    with ctx.db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user {user_id}")
        scopes = scopes_for(session, tenant_id, user_id) if tenant_id else None
        return MemberView(user_view(user), memberships_of(session, user_id), scopes,
                          settings_in(session, tenant_id)
                          if tenant_id and scopes is not None else None)


def is_personal_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def token_user(ctx: Context, token: str) -> SignedIn:
    """The user behind a live personal access token; 401 otherwise."""
    with ctx.db.transaction() as session:
        row = session.execute(select(PersonalAccessToken, User.is_operator)
                              .join(User, User.id == PersonalAccessToken.user_id)
                              .where(PersonalAccessToken.token_hash == hash_api_key(token))
                              ).first()
        if row is None or row[0].revoked_at is not None or (
                row[0].expires_at is not None and row[0].expires_at <= _now()):
            raise Unauthenticated("Invalid, expired or revoked personal access token")
        found, is_operator = row
        scopes = None if found.scopes is None else frozenset(found.scopes)
        return SignedIn(found.user_id, bool(is_operator), found.tenant_id, token_scopes=scopes)


def _token_view(row: PersonalAccessToken) -> TokenView:
    return TokenView(row.id, row.name, row.prefix, row.tenant_id,
                     None if row.scopes is None else sorted(row.scopes), row.expires_at,
                     row.revoked_at, row.created_at)


def create_token(ctx: Context, user_id: int, tenant_id: str, name: str,
                 scopes: list[str] | None = None, expires_in_days: int | None = None) -> NewToken:
    """A token for scripts on `tenant_id`, optionally narrower than the user's scopes there
    (422 for unknown scopes or scopes the user does not have)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.db.transaction() as session:
        current = scopes_for(session, tenant_id, user_id)
        if current is None:
            raise NotFound(f"No tenant {tenant_id}")
        if scopes is not None:
            unknown = unknown_scopes(scopes)
            beyond = sorted(set(scopes) - current - set(unknown))
            if unknown or beyond:
                message = (f"Unknown scope(s): {', '.join(unknown)}" if unknown else
                           f"A token cannot have scopes its user lacks: {', '.join(beyond)}")
                raise Unprocessable(message, {"scopes": [message]})
        row = PersonalAccessToken(
            user_id=user_id, tenant_id=tenant_id, name=name, prefix=raw[:TOKEN_PREFIX_LENGTH],
            token_hash=hash_api_key(raw),
            scopes=None if scopes is None else sorted(set(scopes)),
            expires_at=None if expires_in_days is None
            else _now() + timedelta(days=expires_in_days))
        session.add(row)
        session.flush()
        view = _token_view(row)
        record_audit(session, tenant_id, f"user:{user_id}", "token.create", ("token", row.id),
                     after=view)
        return NewToken(view, raw)


def list_tokens(ctx: Context, user_id: int) -> list[TokenView]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(PersonalAccessToken).where(
            PersonalAccessToken.user_id == user_id).order_by(PersonalAccessToken.id)).all()
        return [_token_view(row) for row in rows]


def revoke_token(ctx: Context, user_id: int, token_id: int) -> TokenView:
    """Revoke one of the user's own tokens (someone else's is 404)."""
    with ctx.db.transaction() as session:
        row = session.get(PersonalAccessToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"No token {token_id}")
        if row.revoked_at is None:
            before = _token_view(row)
            row.revoked_at = _now()
            session.flush()
            record_audit(session, row.tenant_id, f"user:{user_id}", "token.revoke",
                         ("token", row.id), before, _token_view(row))
        session.flush()
        return _token_view(row)
