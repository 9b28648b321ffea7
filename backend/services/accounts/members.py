"""A tenant's members and invitations: invite by link (one-time token, expiry, role), accept,
change a role, remove (revoking the user's sessions and that tenant's tokens at once). Only an
owner (or the platform) makes, unmakes or removes an owner; the last owner stays."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.domain.errors import Conflict, Forbidden, Gone, NotFound, Unprocessable
from backend.models import (
    Invitation,
    Membership,
    PersonalAccessToken,
    ScopeOverride,
    User,
    UserSession,
)
from backend.security import hash_api_key
from backend.services.accounts.access import membership, require_role, scopes_for
from backend.services.accounts.users import (
    UserView,
    add_user,
    find_user,
    normalize_email,
    user_view,
)
from backend.services.platform.audit import record_audit
from backend.services.platform.limits import check_limit
from backend.services.platform.tenants import require_tenant
from backend.wiring import Context

OWNER = "owner"


@dataclass(frozen=True)
class Actor:
    """Who changes memberships: a user, or the platform (service token, operator, seed)."""

    user_id: int | None = None
    is_platform: bool = False


@dataclass(frozen=True)
class MemberView:
    user_id: int
    email: str
    name: str | None
    role: str
    scopes: list[str]
    created_at: datetime


@dataclass(frozen=True)
class InvitationView:
    id: int
    tenant_id: str
    email: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    token: str | None = None  # the one-time token: only in the answer that creates it
    link: str | None = None


@dataclass(frozen=True)
class InvitationPreview:
    """What the invitation page shows before accepting: who asks whom to which shop."""

    email: str
    tenant_id: str
    tenant_name: str
    role: str
    invited_by: str | None  # the inviter's name, else their email; None: the platform
    has_account: bool  # the email already has a user: they sign in instead of choosing one
    expires_at: datetime
    timezone: str  # the shop's, for showing the expiry
    language: str  # the shop's primary language


@dataclass(frozen=True)
class Accepted:
    user: UserView
    tenant_id: str
    role: str


def _now() -> datetime:
    return datetime.now(UTC)


def _require_owner_actor(session: Session, tenant_id: str, actor: Actor) -> None:
    if actor.is_platform:
        return
    if actor.user_id is not None:
        member = membership(session, tenant_id, actor.user_id)
        if member is not None and member.role == OWNER:
            return
    raise Forbidden("Only an owner may make, change or remove an owner")


def _owners(session: Session, tenant_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Membership).where(
        Membership.tenant_id == tenant_id, Membership.role == OWNER)) or 0)


def _member_view(session: Session, member: Membership, user: User) -> MemberView:
    scopes = scopes_for(session, member.tenant_id, user.id) or frozenset()
    return MemberView(user.id, user.email, user.name, member.role, sorted(scopes),
                      member.created_at)


def _member(session: Session, tenant_id: str, user_id: int) -> Membership:
    member = membership(session, tenant_id, user_id)
    if member is None:
        raise NotFound(f"No member {user_id}")
    return member


def _member_audit(member: Membership, user: User) -> dict[str, object]:
    """A membership for the audit log (e-mail and name are masked when it is stored)."""
    return {"user_id": user.id, "email": user.email, "full_name": user.name,
            "role": member.role}


def _invitation_audit(invitation: Invitation) -> dict[str, object]:
    """An invitation for the audit log: never its token or link."""
    return {"id": invitation.id, "email": invitation.email, "role": invitation.role,
            "expires_at": invitation.expires_at, "accepted_at": invitation.accepted_at,
            "revoked_at": invitation.revoked_at}


def list_members(ctx: Context, tenant_id: str) -> list[MemberView]:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        rows = session.execute(select(Membership, User).join(User, User.id == Membership.user_id)
                               .where(Membership.tenant_id == tenant_id)
                               .order_by(Membership.id)).all()
        return [_member_view(session, member, user) for member, user in rows]


def add_member(session: Session, tenant_id: str, user_id: int, role: str) -> Membership:
    """Make a user a member (the seed, an accepted invitation); 409 when they already are."""
    require_role(session, tenant_id, role)
    if membership(session, tenant_id, user_id) is not None:
        raise Conflict("That user is already a member of this tenant")
    member = Membership(tenant_id=tenant_id, user_id=user_id, role=role)
    session.add(member)
    session.flush()
    return member


def change_role(ctx: Context, tenant_id: str, actor: Actor, user_id: int, role: str) -> MemberView:
    """422 unknown role, 404 non-member, 403 owner changes by a non-owner, 409 last owner."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        require_role(session, tenant_id, role)
        member = _member(session, tenant_id, user_id)
        if OWNER in (role, member.role) and role != member.role:
            _require_owner_actor(session, tenant_id, actor)
        if member.role == OWNER and role != OWNER and _owners(session, tenant_id) <= 1:
            raise Conflict("The last owner cannot be demoted; make another member owner first")
        user = session.get_one(User, user_id)
        before = _member_audit(member, user)
        member.role = role
        session.flush()
        if before["role"] != role:
            record_audit(session, tenant_id, None, "member.role_change", ("member", user_id),
                         before, _member_audit(member, user))
        return _member_view(session, member, user)


def revoke_user_access(session: Session, user_id: int, tenant_id: str | None = None) -> None:
    """End the user's browser sessions, and their tokens on `tenant_id` (every token: None)."""
    now = _now()
    session.execute(update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)).values(revoked_at=now))
    tokens = update(PersonalAccessToken).where(PersonalAccessToken.user_id == user_id,
                                               PersonalAccessToken.revoked_at.is_(None))
    if tenant_id is not None:
        tokens = tokens.where(PersonalAccessToken.tenant_id == tenant_id)
    session.execute(tokens.values(revoked_at=now))


def remove_member(ctx: Context, tenant_id: str, actor: Actor, user_id: int) -> None:
    """Remove a member; their sessions and this tenant's tokens stop working at once."""
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        member = _member(session, tenant_id, user_id)
        if member.role == OWNER:
            _require_owner_actor(session, tenant_id, actor)
            if _owners(session, tenant_id) <= 1:
                raise Conflict("The last owner cannot be removed; make another member owner first")
        before = _member_audit(member, session.get_one(User, user_id))
        session.execute(delete(ScopeOverride).where(
            ScopeOverride.tenant_id == tenant_id, ScopeOverride.user_id == user_id))
        session.delete(member)
        revoke_user_access(session, user_id, tenant_id)
        record_audit(session, tenant_id, None, "member.remove", ("member", user_id), before)


def _invitation_view(invitation: Invitation, token: str | None = None,
                     link: str | None = None) -> InvitationView:
    return InvitationView(invitation.id, invitation.tenant_id, invitation.email, invitation.role,
                          invitation.expires_at, invitation.accepted_at, invitation.revoked_at,
                          invitation.created_at, token, link)


def _seats(session: Session, tenant_id: str, now: datetime) -> int:
    members = session.scalar(select(func.count(Membership.id)).where(
        Membership.tenant_id == tenant_id)) or 0
    pending = session.scalar(select(func.count(Invitation.id)).where(
        Invitation.tenant_id == tenant_id, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > now)) or 0
    return int(members) + int(pending)


def invite(ctx: Context, tenant_id: str, email: str, role: str,
           invited_by_user_id: int | None, actor: Actor | None = None) -> InvitationView:
    """An invitation link for `email` with `role` (the token is returned this once); earlier
    pending invitations of that email to the tenant are revoked. 409 if already a member."""
    email = normalize_email(email)
    actor = actor or Actor(user_id=invited_by_user_id, is_platform=invited_by_user_id is None)
    token = secrets.token_urlsafe(32)
    now = _now()
    with ctx.db.transaction() as session:
        tenant = require_tenant(session, tenant_id)
        require_role(session, tenant_id, role)
        if role == OWNER:
            _require_owner_actor(session, tenant_id, actor)
        user = find_user(session, email)
        if user is not None and membership(session, tenant_id, user.id) is not None:
            raise Conflict(f"{email} is already a member of this tenant")
        session.execute(update(Invitation).where(
            Invitation.tenant_id == tenant_id, Invitation.email == email,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
        ).values(revoked_at=now))
        # The tier's users: members plus invitations still open (each may become one).
        check_limit(session, tenant.tier, "users", _seats(session, tenant_id, now))
        invitation = Invitation(
            tenant_id=tenant_id, email=email, role=role, token_hash=hash_api_key(token),
            invited_by_user_id=invited_by_user_id,
            expires_at=now + timedelta(days=ctx.settings.invitation_days))
        session.add(invitation)
        session.flush()
        record_audit(session, tenant_id, None, "invitation.create", ("invitation", invitation.id),
                     after=_invitation_audit(invitation))
        # The web app's page (/app/invite) is what a person opens; scripts POST the token to
        # /v1/invitations/accept.
        link = f"{ctx.settings.public_url}/app/invite?token={token}"
        return _invitation_view(invitation, token, link)


def list_invitations(ctx: Context, tenant_id: str) -> list[InvitationView]:
    with ctx.db.transaction() as session:
        require_tenant(session, tenant_id)
        rows = session.scalars(select(Invitation).where(Invitation.tenant_id == tenant_id)
                               .order_by(Invitation.id)).all()
        return [_invitation_view(row) for row in rows]


def revoke_invitation(ctx: Context, tenant_id: str, invitation_id: int) -> InvitationView:
    with ctx.db.transaction() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None or invitation.tenant_id != tenant_id:
            raise NotFound(f"No invitation {invitation_id}")
        if invitation.revoked_at is None and invitation.accepted_at is None:
            before = _invitation_audit(invitation)
            invitation.revoked_at = _now()
            record_audit(session, tenant_id, None, "invitation.revoke",
                         ("invitation", invitation.id), before, _invitation_audit(invitation))
        session.flush()
        return _invitation_view(invitation)


def _live_invitation(session: Session, token: str, now: datetime) -> Invitation:
    """The invitation a token names: 404 unknown; 410 expired, revoked or already used."""
    invitation = session.scalar(select(Invitation).where(
        Invitation.token_hash == hash_api_key(token)))
    if invitation is None:
        raise NotFound("No such invitation")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Gone("This invitation was already used or withdrawn")
    if invitation.expires_at <= now:
        raise Gone("This invitation has expired; ask for a new one")
    return invitation


def preview_invitation(ctx: Context, token: str) -> InvitationPreview:
    """An open invitation as its link's holder sees it (nothing changes); 404 or 410 as
    accepting would answer."""
    with ctx.db.transaction() as session:
        invitation = _live_invitation(session, token, _now())
        tenant = require_tenant(session, invitation.tenant_id)
        inviter = (session.get(User, invitation.invited_by_user_id)
                   if invitation.invited_by_user_id is not None else None)
        return InvitationPreview(
            invitation.email, invitation.tenant_id, tenant.name, invitation.role,
            (inviter.name or inviter.email) if inviter is not None else None,
            find_user(session, invitation.email) is not None, invitation.expires_at,
            tenant.timezone, tenant.primary_language)


def accept_invitation(ctx: Context, token: str, password: str | None = None,
                      name: str | None = None, phone: str | None = None) -> Accepted:
    """Join the tenant: a new user sets a password (422 when weak); an existing user is added.
    404 unknown token; 410 expired, revoked or already used (claimed atomically: once only);
    409 when another invitation of the same email created the account at the same moment."""
    now = _now()
    digest = hash_api_key(token)
    with ctx.db.transaction() as session:
        # The claim is one conditional UPDATE: of two simultaneous accepts, one wins.
        claimed = session.execute(update(Invitation).where(
            Invitation.token_hash == digest, Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None), Invitation.expires_at > now
        ).values(accepted_at=now))
        invitation = session.scalar(select(Invitation).where(Invitation.token_hash == digest))
        if invitation is None:
            raise NotFound("No such invitation")
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            if invitation.accepted_at is None and invitation.revoked_at is None:
                raise Gone("This invitation has expired; ask for a new one")
            raise Gone("This invitation was already used or withdrawn")
        user = find_user(session, invitation.email)
        if user is None:
            if not password:
                raise Unprocessable("A password is required to create the account",
                                    {"password": ["Required for a new account"]})
            try:
                with session.begin_nested():  # (a failed insert ends only the savepoint)
                    user = add_user(session, ctx, invitation.email, password, name=name,
                                    phone=phone)
            except IntegrityError:  # another invitation of this email created it meanwhile
                raise Conflict(f"An account for {invitation.email} was just created; log in "
                               "with its password and open the link again") from None
        # Accepts for one user wait for each other here (a row lock; SQLite has one writer),
        # so two invitations of one email to one tenant make one membership, as one by one.
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
        member = membership(session, invitation.tenant_id, user.id)
        if member is None:
            member = add_member(session, invitation.tenant_id, user.id, invitation.role)
        # The new member acts: the link's holder, now a user of the tenant.
        after = _invitation_audit(invitation)
        record_audit(session, invitation.tenant_id, f"user:{user.id}", "invitation.accept",
                     ("invitation", invitation.id), {**after, "accepted_at": None},
                     {**after, "member": _member_audit(member, user)})
        return Accepted(user_view(user), invitation.tenant_id, invitation.role)
