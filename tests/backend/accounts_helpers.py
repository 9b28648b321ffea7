"""Staff users for the accounts tests: made directly through the services, logged in over HTTP."""

from __future__ import annotations

from typing import Any

from backend.services.accounts.members import add_member
from backend.services.accounts.users import add_user
from backend.wiring import Context
from tests.backend.conftest import TENANT_ID

PASSWORD = "correct-horse-battery"


def make_user(ctx: Context, email: str, role: str | None = "owner", tenant_id: str = TENANT_ID,
              phone: str | None = None, is_operator: bool = False) -> int:
    """A user (and, with a role, a member of tenant_id); returns the user id."""
    with ctx.db.transaction() as session:
        user = add_user(session, ctx, email, PASSWORD, phone=phone,
                        is_operator=is_operator)
        if role is not None:
            add_member(session, tenant_id, user.id, role)
        return user.id


def log_in(client: Any, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, str]:
    """Log the test client in (it keeps the cookie); returns headers carrying the CSRF token."""
    response = client.post("/v1/auth/login", json={"email": email, "password": password, **extra})
    assert response.status_code == 200, response.get_json()
    return {"X-CSRF-Token": response.get_json()["csrf_token"]}
