"""Members of a tenant: invitations by link (410 expired or reused), roles (custom roles, 422
unknown scopes), overrides (deny wins), removal (sessions and tokens revoked at once), and the
last owner (409); only an owner makes an owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from backend.models import Invitation
from backend.services.accounts import scopes_for
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, log_in, make_user
from tests.backend.conftest import OTHER_ID, TENANT_ID, service_headers

SERVICE = service_headers(TENANT_ID)
STRONG = "a-long-and-unusual-passphrase"


def invite(client: Any, email: str, role: str, headers: dict[str, str] = SERVICE) -> Any:
    return client.post("/v1/invitations", json={"email": email, "role": role}, headers=headers)


def test_an_invitation_is_accepted_once_and_makes_a_member(client: Any, tenants: Context) -> None:
    created = invite(client, "New.Person@Example.com", "support_agent")
    assert created.status_code == 201
    body = created.get_json()
    assert body["email"] == "new.person@example.com" and body["token"] in body["link"]
    weak = client.post("/v1/invitations/accept", json={"token": body["token"],
                                                       "password": "Password123!"})
    assert weak.status_code == 422 and "common" in weak.get_json()["description"]
    short = client.post("/v1/invitations/accept", json={"token": body["token"], "password": "x1"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_json()["description"]
    accepted = client.post("/v1/invitations/accept", json={"token": body["token"],
                                                           "password": STRONG})
    assert accepted.status_code == 201
    assert accepted.get_json()["role"] == "support_agent"
    again = client.post("/v1/invitations/accept", json={"token": body["token"],
                                                        "password": STRONG})
    assert again.status_code == 410
    unknown = client.post("/v1/invitations/accept", json={"token": "nope", "password": STRONG})
    assert unknown.status_code == 404
    members = client.get("/v1/members", headers=SERVICE).get_json()["results"]
    assert [(m["email"], m["role"]) for m in members] == [("new.person@example.com",
                                                           "support_agent")]
    log_in(client, "new.person@example.com", STRONG)
    listed = client.get("/v1/invitations", headers=SERVICE).get_json()["results"]
    assert listed[0]["accepted_at"] is not None and "token" not in listed[0]


def test_expired_and_withdrawn_invitations_are_gone(client: Any, tenants: Context) -> None:
    expired = invite(client, "late@example.com", "viewer").get_json()
    with tenants.db.transaction() as session:
        session.execute(update(Invitation).where(Invitation.id == expired["id"]).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    answer = client.post("/v1/invitations/accept", json={"token": expired["token"],
                                                         "password": STRONG})
    assert answer.status_code == 410 and "expired" in answer.get_json()["description"]
    withdrawn = invite(client, "maybe@example.com", "viewer").get_json()
    assert client.delete(f"/v1/invitations/{withdrawn['id']}", headers=SERVICE).status_code == 200
    assert client.post("/v1/invitations/accept", json={"token": withdrawn["token"],
                                                       "password": STRONG}).status_code == 410


def test_one_user_joins_a_second_tenant_and_duplicates_conflict(
        client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@example.com", "owner")
    assert invite(client, "OWNER@example.com", "viewer").status_code == 409  # already a member
    other = invite(client, "owner@example.com", "finance", service_headers(OTHER_ID)).get_json()
    joined = client.post("/v1/invitations/accept", json={"token": other["token"]})
    assert joined.status_code == 201 and joined.get_json()["tenant_id"] == OTHER_ID
    log_in(client, "owner@example.com", PASSWORD)
    me = client.get("/v1/auth/me").get_json()
    assert [(m["tenant_id"], m["role"]) for m in me["memberships"]] == [
        (TENANT_ID, "owner"), (OTHER_ID, "finance")]
    # A new account for a taken email is a 409.
    from backend.domain.errors import Conflict
    from backend.services.accounts.users import add_user
    with tenants.db.transaction() as session:
        try:
            add_user(session, tenants, "Owner@Example.com", STRONG)
        except Conflict:
            pass
        else:
            raise AssertionError("a duplicate email was accepted")


def test_removing_a_member_revokes_their_sessions_and_tokens_at_once(
        app: Any, tenants: Context) -> None:
    owner, staff = app.test_client(), app.test_client()
    make_user(tenants, "owner@example.com", "owner")
    staff_id = make_user(tenants, "staff@example.com", "admin")
    owner_csrf = log_in(owner, "owner@example.com")
    staff_csrf = log_in(staff, "staff@example.com")
    token = staff.post("/v1/tokens", json={"name": "script"}, headers=staff_csrf).get_json()
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert app.test_client().get("/v1/members", headers=bearer).status_code == 200
    assert owner.delete(f"/v1/members/{staff_id}", headers=owner_csrf).status_code == 204
    assert staff.get("/v1/auth/me").status_code == 401
    assert app.test_client().get("/v1/members", headers=bearer).status_code == 401
    assert owner.delete(f"/v1/members/{staff_id}", headers=owner_csrf).status_code == 404


def test_the_last_owner_stays_and_only_owners_make_owners(app: Any, tenants: Context) -> None:
    owner, admin = app.test_client(), app.test_client()
    owner_id = make_user(tenants, "owner@example.com", "owner")
    admin_id = make_user(tenants, "admin@example.com", "admin")
    owner_csrf, admin_csrf = log_in(owner, "owner@example.com"), log_in(admin, "admin@example.com")
    demote = owner.patch(f"/v1/members/{owner_id}", json={"role": "admin"}, headers=owner_csrf)
    assert demote.status_code == 409 and "last owner" in demote.get_json()["description"]
    remove = owner.delete(f"/v1/members/{owner_id}", headers=owner_csrf)
    assert remove.status_code == 409
    assert admin.patch(f"/v1/members/{admin_id}", json={"role": "owner"},
                       headers=admin_csrf).status_code == 403
    assert invite(admin, "boss@example.com", "owner", admin_csrf).status_code == 403
    assert admin.delete(f"/v1/members/{owner_id}", headers=admin_csrf).status_code == 403
    promoted = owner.patch(f"/v1/members/{admin_id}", json={"role": "owner"}, headers=owner_csrf)
    assert promoted.status_code == 200 and promoted.get_json()["role"] == "owner"
    # Two owners now: one may step down.
    assert owner.patch(f"/v1/members/{owner_id}", json={"role": "viewer"},
                       headers=owner_csrf).status_code == 200
    unknown = admin.patch(f"/v1/members/{owner_id}", json={"role": "wizard"}, headers=admin_csrf)
    assert unknown.status_code == 422


def test_custom_roles_and_overrides_make_the_scopes_deny_winning(
        client: Any, tenants: Context) -> None:
    user_id = make_user(tenants, "stock@example.com", "viewer")
    bad = client.post("/v1/roles", json={"name": "stock", "scopes": ["catalog:write", "fly:now"]},
                      headers=SERVICE)
    assert bad.status_code == 422 and "fly:now" in bad.get_json()["description"]
    assert client.post("/v1/roles", json={"name": "owner", "scopes": []},
                       headers=SERVICE).status_code == 409
    created = client.post("/v1/roles", json={"name": "stock",
                                             "scopes": ["catalog:read", "catalog:write"]},
                          headers=SERVICE)
    assert created.status_code == 201
    assert client.patch(f"/v1/members/{user_id}", json={"role": "stock"},
                        headers=SERVICE).status_code == 200
    overrides = client.put(f"/v1/members/{user_id}/overrides",
                           json={"allow": ["orders:read", "catalog:write"],
                                 "deny": ["catalog:write"]}, headers=SERVICE)
    assert overrides.get_json() == {"allow": ["orders:read"], "deny": ["catalog:write"]}
    with tenants.db.transaction() as session:
        assert scopes_for(session, TENANT_ID, user_id) == frozenset({"catalog:read",
                                                                     "orders:read"})
        assert scopes_for(session, OTHER_ID, user_id) is None
    assert client.put(f"/v1/members/{user_id}/overrides", json={"deny": ["nope:x"]},
                      headers=SERVICE).status_code == 422
    assert client.delete("/v1/roles/stock", headers=SERVICE).status_code == 409  # still held
    client.put("/v1/roles/stock", json={"scopes": ["orders:write"]}, headers=SERVICE)
    with tenants.db.transaction() as session:
        assert scopes_for(session, TENANT_ID, user_id) == frozenset({"orders:write",
                                                                     "orders:read"})
    names = [r["name"] for r in client.get("/v1/roles", headers=SERVICE).get_json()["results"]]
    assert names[:8] == ["owner", "admin", "finance", "catalog_manager", "support_agent",
                         "viewer", "designer", "data"] and names[8:] == ["stock"]


def test_managing_members_needs_users_manage(app: Any, tenants: Context) -> None:
    client = app.test_client()
    viewer_id = make_user(tenants, "viewer@example.com", "viewer")
    csrf = log_in(client, "viewer@example.com")
    assert client.get("/v1/members").status_code == 403
    assert invite(client, "x@example.com", "viewer", csrf).status_code == 403
    service = app.test_client()
    service.put(f"/v1/members/{viewer_id}/overrides", json={"allow": ["users:manage"]},
                headers=SERVICE)
    assert client.get("/v1/members").status_code == 200


def test_the_tier_limits_staff_users_and_a_downgrade_counts_them(
        client: Any, tenants: Context) -> None:
    """Starter allows 3 users: members plus open invitations; a withdrawn invitation frees its
    seat, and a tenant with more members than a lower tier allows cannot move down to it."""
    set_tier = f"/internal/v1/tenants/{TENANT_ID}"
    assert client.patch(set_tier, json={"tier": "starter"}, headers=SERVICE).status_code == 200
    for n in range(3):
        assert invite(client, f"staff{n}@example.com", "viewer").status_code == 201
    refused = invite(client, "staff3@example.com", "viewer")
    assert refused.status_code == 403 and "3 staff users" in refused.get_json()["description"]
    first = client.get("/v1/invitations", headers=SERVICE).get_json()["results"][0]
    assert client.delete(f"/v1/invitations/{first['id']}", headers=SERVICE).status_code == 200
    assert invite(client, "staff3@example.com", "viewer").status_code == 201  # its seat

    assert client.patch(set_tier, json={"tier": "growth"}, headers=SERVICE).status_code == 200
    for n in range(4):
        make_user(tenants, f"member{n}@example.com", tenant_id=TENANT_ID, role="viewer")
    down = client.patch(set_tier, json={"tier": "starter"}, headers=SERVICE)
    assert down.status_code == 422, down.get_json()
    assert "4 users (the starter tier allows 3)" in down.get_json()["description"]
    assert down.get_json()["errors"]["users"] == ["4 used, 3 allowed"]
