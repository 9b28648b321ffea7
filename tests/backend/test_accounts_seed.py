"""The demo staff seed: one user per built-in role per demo tenant and an operator, with the
README's passwords; a second run changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.domain.permissions import ROLE_NAMES
from backend.models import Membership, User
from backend.seed.accounts import (
    OPERATOR_EMAIL,
    OPERATOR_PASSWORD,
    STAFF_PASSWORD,
    seed_staff,
    staff_email,
)
from backend.wiring import Context
from tests.backend.conftest import OTHER_ID, TENANT_ID


def test_one_user_per_role_per_tenant_and_an_operator_idempotently(
        client: Any, tenants: Context) -> None:
    first = seed_staff(tenants, [TENANT_ID, OTHER_ID])
    second = seed_staff(tenants, [TENANT_ID, OTHER_ID])
    assert (first.users_added, first.memberships_added) == (2 * len(ROLE_NAMES) + 1,
                                                            2 * len(ROLE_NAMES))
    assert (second.users_added, second.memberships_added) == (0, 0)
    with tenants.db.transaction() as session:
        roles = session.execute(select(Membership.tenant_id, Membership.role)
                                .order_by(Membership.id)).all()
        assert [tuple(r) for r in roles] == [(t, r) for t in (TENANT_ID, OTHER_ID)
                                            for r in ROLE_NAMES]
        assert session.scalar(select(func.count()).select_from(User)
                              .where(User.is_operator)) == 1
    finance = client.post("/v1/auth/login", json={"email": staff_email(OTHER_ID, "finance"),
                                                  "password": STAFF_PASSWORD})
    assert finance.status_code == 200 and finance.get_json()["tenant_id"] == OTHER_ID
    operator = client.post("/v1/auth/login", json={"email": OPERATOR_EMAIL,
                                                   "password": OPERATOR_PASSWORD})
    assert operator.status_code == 200
    assert operator.get_json()["user"]["is_operator"] is True
    assert operator.get_json()["tenant_id"] is None
    csrf = {"X-CSRF-Token": operator.get_json()["csrf_token"]}
    no_tenant = client.post("/v1/tokens", json={"name": "ops"}, headers=csrf)
    assert no_tenant.status_code == 400  # the operator belongs to no tenant
    foreign = client.post("/v1/tokens", json={"name": "ops"},
                          headers={**csrf, "X-TENANT-ID": TENANT_ID})
    assert foreign.status_code == 404
