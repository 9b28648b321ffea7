"""Demo staff: one user per built-in role per demo tenant, and one platform operator, with the
demo passwords the README lists (demo only). A second run changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.permissions import ROLE_NAMES
from backend.services.accounts.access import membership
from backend.services.accounts.members import add_member
from backend.services.accounts.users import add_user, find_user
from backend.wiring import Context

STAFF_PASSWORD = "Demo-Staff-Pass-2026"  # every demo tenant's staff (demo only)
OPERATOR_EMAIL = "operator@platform.example"
OPERATOR_PASSWORD = "Demo-Operator-Pass-2026"
OPERATOR_PHONE = "+254722000999"


@dataclass(frozen=True)
class StaffSeed:
    users_added: int
    memberships_added: int


def staff_email(tenant_id: str, role: str) -> str:
    """e.g. catalog_manager@demo-shop.example"""
    return f"{role}@{tenant_id}.example"


def staff_phone(tenant_index: int, role_index: int) -> str:
    """Distinct demo WhatsApp numbers for reset codes: +254722000<tenant><role>, e.g. ...101."""
    return f"+254722000{tenant_index + 1}{role_index:02d}"


def seed_staff(ctx: Context, tenant_ids: list[str], first_index: int = 0) -> StaffSeed:
    """Create what is missing: the operator, then each tenant's six role users (their phone
    numbers from the tenant's index among the demo tenants: `first_index` for the first)."""
    users = memberships = 0
    with ctx.db.transaction() as session:
        if find_user(session, OPERATOR_EMAIL) is None:
            add_user(session, ctx, OPERATOR_EMAIL, OPERATOR_PASSWORD,
                     name="Platform operator", phone=OPERATOR_PHONE, is_operator=True)
            users += 1
        for t, tenant_id in enumerate(tenant_ids, start=first_index):
            for r, role in enumerate(ROLE_NAMES):
                email = staff_email(tenant_id, role)
                user = find_user(session, email)
                if user is None:
                    user = add_user(session, ctx, email, STAFF_PASSWORD,
                                    name=f"{role.replace('_', ' ').title()} ({tenant_id})",
                                    phone=staff_phone(t, r))
                    users += 1
                if membership(session, tenant_id, user.id) is None:
                    add_member(session, tenant_id, user.id, role)
                    memberships += 1
    return StaffSeed(users, memberships)
