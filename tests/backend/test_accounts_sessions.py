"""Staff log in with a session cookie (Secure, HttpOnly, SameSite=Lax) and a CSRF header, or a
personal access token; a tenant they do not belong to is a 404; wrong passwords lock the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from backend.models import User, UserSession
from backend.services.accounts.sessions import SESSION_COOKIE
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, log_in, make_user
from tests.backend.conftest import OTHER_ID, TENANT_ID, merchant_headers, service_headers


def test_login_sets_a_secure_httponly_lax_cookie_and_me_answers(
        client: Any, tenants: Context) -> None:
    user_id = make_user(tenants, "Owner@Example.com", "owner")
    response = client.post("/v1/auth/login",
                           json={"email": "owner@example.COM", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    body = response.get_json()
    assert body["user"]["email"] == "owner@example.com" and body["tenant_id"] == TENANT_ID
    assert body["csrf_token"]
    me = client.get("/v1/auth/me").get_json()
    assert me["user"]["id"] == user_id
    assert me["memberships"] == [{"tenant_id": TENANT_ID, "tenant_name": f"{TENANT_ID} ltd",
                                  "role": "owner"}]
    assert "wallet:approve" in me["scopes"]


def test_a_session_works_on_tenant_routes_and_unsafe_methods_need_the_csrf_header(
        client: Any, tenants: Context) -> None:
    make_user(tenants, "admin@example.com", "admin")
    csrf = log_in(client, "admin@example.com")
    assert client.get("/v1/members").status_code == 200  # safe: no header needed
    invite = {"email": "new@example.com", "role": "viewer"}
    refused = client.post("/v1/invitations", json=invite)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.get_json()["description"]
    wrong = client.post("/v1/invitations", json=invite, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert client.post("/v1/invitations", json=invite, headers=csrf).status_code == 201


def test_another_tenant_is_not_found_and_switching_needs_membership(
        client: Any, tenants: Context) -> None:
    user_id = make_user(tenants, "multi@example.com", "viewer")
    csrf = log_in(client, "multi@example.com")
    assert client.get("/v1/members", headers={"X-TENANT-ID": OTHER_ID}).status_code == 404
    switched = client.post("/v1/auth/switch", json={"tenant_id": OTHER_ID}, headers=csrf)
    assert switched.status_code == 404
    with tenants.db.transaction() as session:
        from backend.services.accounts.members import add_member
        add_member(session, OTHER_ID, user_id, "admin")
    switched = client.post("/v1/auth/switch", json={"tenant_id": OTHER_ID}, headers=csrf)
    assert switched.status_code == 200 and switched.get_json()["tenant_id"] == OTHER_ID
    assert "users:manage" in switched.get_json()["scopes"]
    # The session now works on the other tenant (admin there) without X-TENANT-ID…
    assert client.get("/v1/members").status_code == 200
    # …and still on the first when asked (a viewer there: no users:manage).
    assert client.get("/v1/members", headers={"X-TENANT-ID": TENANT_ID}).status_code == 403


def test_logout_and_expiry_end_the_session(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@example.com", "owner")
    csrf = log_in(client, "owner@example.com")
    assert client.post("/v1/auth/logout", headers=csrf).status_code == 204
    assert client.get("/v1/auth/me").status_code == 401
    log_in(client, "owner@example.com")
    with tenants.db.transaction() as session:
        session.execute(update(UserSession).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.get("/v1/auth/me").status_code == 401
    assert client.get("/v1/members").status_code == 401


def test_wrong_passwords_lock_the_account_for_a_while(app: Any, tenants: Context) -> None:
    client = app.test_client()
    make_user(tenants, "owner@example.com", "owner")
    failures = tenants.settings.login_lockout_failures
    unknown = client.post("/v1/auth/login", json={"email": "nobody@example.com",
                                                  "password": "whatever-it-is"})
    for _ in range(failures):
        wrong = client.post("/v1/auth/login", json={"email": "owner@example.com",
                                                    "password": "not-the-password"})
        assert wrong.status_code == 401
        assert wrong.get_json()["description"] == unknown.get_json()["description"]
    locked = client.post("/v1/auth/login", json={"email": "owner@example.com",
                                                 "password": PASSWORD})
    assert locked.status_code == 429 and "locked" in locked.get_json()["description"]
    with tenants.db.transaction() as session:  # the lockout has passed
        session.execute(update(User).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.post("/v1/auth/login", json={"email": "owner@example.com",
                                               "password": PASSWORD}).status_code == 200


def test_personal_access_tokens_are_narrowable_bound_to_their_tenant_and_revocable(
        client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@example.com", "owner")
    csrf = log_in(client, "owner@example.com")
    full = client.post("/v1/tokens", json={"name": "sync"}, headers=csrf).get_json()
    narrow = client.post("/v1/tokens", json={"name": "read", "scopes": ["catalog:read"]},
                         headers=csrf).get_json()
    assert full["token"].startswith("wcpat_") and full["prefix"] == full["token"][:12]
    bad = client.post("/v1/tokens", json={"name": "x", "scopes": ["catalog:fly"]}, headers=csrf)
    assert bad.status_code == 422 and "catalog:fly" in bad.get_json()["description"]
    anonymous = tenants_client(client)
    full_auth = {"Authorization": f"Bearer {full['token']}"}
    narrow_auth = {"Authorization": f"Bearer {narrow['token']}"}
    assert anonymous.get("/v1/members", headers=full_auth).status_code == 200
    assert anonymous.get("/v1/members", headers=narrow_auth).status_code == 403
    other = {**full_auth, "X-TENANT-ID": OTHER_ID}
    assert anonymous.get("/v1/members", headers=other).status_code == 404
    # A token needs no CSRF header (it is not sent by browsers on their own).
    created = anonymous.post("/v1/roles", json={"name": "stock", "scopes": ["catalog:write"]},
                             headers=full_auth)
    assert created.status_code == 201
    assert client.delete(f"/v1/tokens/{full['id']}", headers=csrf).status_code == 204
    assert anonymous.get("/v1/members", headers=full_auth).status_code == 401
    listed = client.get("/v1/tokens").get_json()["results"]
    assert [t["revoked_at"] is not None for t in listed] == [True, False]
    assert all("token" not in t for t in listed)


def tenants_client(client: Any) -> Any:
    """A second client without the first one's cookie."""
    return client.application.test_client()


def test_the_service_token_and_api_keys_still_work(client: Any, tenants: Context) -> None:
    make_user(tenants, "owner@example.com", "owner")
    assert client.get("/v1/members", headers=service_headers(TENANT_ID)).status_code == 200
    members = client.get("/v1/members", headers=merchant_headers()).get_json()["results"]
    assert [m["email"] for m in members] == ["owner@example.com"]
    assert client.get("/v1/members", headers=service_headers(OTHER_ID)).get_json() == {
        "results": []}


def test_platform_routes_take_the_service_token_or_an_operator_user(
        app: Any, tenants: Context) -> None:
    from flask import g

    from backend.api.auth import require_operator
    from backend.domain.errors import Forbidden, Unauthenticated

    make_user(tenants, "operator@example.com", None, is_operator=True)
    make_user(tenants, "owner@example.com", "owner")
    operator, owner = app.test_client(), app.test_client()
    operator_csrf = log_in(operator, "operator@example.com")
    owner_csrf = log_in(owner, "owner@example.com")

    def call(client: Any, headers: dict[str, str]) -> Any:
        cookie = client.get_cookie("wca_session")
        if cookie is not None:
            headers = {**headers, "Cookie": f"wca_session={cookie.value}"}
        with app.test_request_context("/v1/platform/tenants", method="POST", headers=headers):
            try:
                require_operator()
            except (Forbidden, Unauthenticated) as error:
                return type(error).__name__
            return g.principal

    principal = call(operator, operator_csrf)
    assert principal.is_operator and principal.tenant_id is None and not principal.is_service
    assert call(operator, {}) == "Forbidden"  # the CSRF header is still needed
    assert call(owner, owner_csrf) == "Forbidden"
    assert call(app.test_client(), {}) == "Unauthenticated"
    assert call(app.test_client(), service_headers()).is_service
