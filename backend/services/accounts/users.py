"""Users: created from an accepted invitation or the seed; email unique and lowercased, phone
encrypted with a keyed hash, password hashed with argon2id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.phones import to_e164
from backend.models import Membership, Tenant, User
from backend.services.accounts.passwords import check_password_rule, hash_password
from backend.wiring import Context

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str | None
    is_operator: bool
    has_phone: bool
    created_at: datetime


@dataclass(frozen=True)
class MembershipView:
    tenant_id: str
    tenant_name: str
    role: str


def normalize_email(raw: str) -> str:
    """Lowercased and trimmed; 400 when it is not an email address."""
    email = raw.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidInput("Not an email address", {"email": ["Not an email address"]})
    return email


def user_view(user: User) -> UserView:
    return UserView(user.id, user.email, user.name, user.is_operator,
                    user.phone_encrypted is not None, user.created_at)


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def add_user(session: Session, ctx: Context, email: str, password: str, *,
             name: str | None = None, phone: str | None = None,
             is_operator: bool = False) -> User:
    """A new user: 409 for a known email, 422 for a password that breaks the rule."""
    email = normalize_email(email)
    check_password_rule(password, email)
    if find_user(session, email) is not None:
        raise Conflict(f"A user with email {email} already exists")
    user = User(email=email, name=name, password_hash=hash_password(password, ctx.settings),
                is_operator=is_operator, failed_logins=0)
    if phone:
        number = to_e164(phone, field="phone")
        user.phone_encrypted = ctx.crypto.encrypt(number)
        user.phone_hash = ctx.crypto.keyed_hash(number)
    session.add(user)
    session.flush()
    return user


def memberships_of(session: Session, user_id: int) -> list[MembershipView]:
    rows = session.execute(
        select(Membership.tenant_id, Tenant.name, Membership.role)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id).order_by(Membership.id)).all()
    return [MembershipView(tenant, name, role) for tenant, name, role in rows]


def get_user(ctx: Context, user_id: int) -> tuple[UserView, list[MembershipView]]:
    """A user and the tenants they belong to."""
    with ctx.db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user {user_id}")
        return user_view(user), memberships_of(session, user_id)
