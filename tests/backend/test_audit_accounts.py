"""The audit log of staff, billing and operator changes: each recorded by its service in the
change's own transaction with before/after (e-mail addresses and names masked, secrets never
there), the signed-in user as the actor, the request's id and IP; done through the REST API as
real signed-in users and read back through GET /v1/audit-logs."""

from __future__ import annotations

import json
from itertools import count
from typing import Any

from backend.services.accounts.members import add_member
from backend.services.accounts.users import add_user
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, log_in, make_user
from tests.backend.conftest import TENANT_ID, merchant_headers

STRONG = "a-long-and-unusual-passphrase"
_ids = count(1)


def _request_id() -> str:
    return f"req-audit-{next(_ids)}"


class Caller:
    """A signed-in user's writes: each with its own request id (kept in `last`)."""

    def __init__(self, client: Any, csrf: dict[str, str]) -> None:
        self.client, self.csrf, self.last = client, csrf, ""

    def send(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        self.last = _request_id()
        headers = {**self.csrf, "X-Request-ID": self.last, **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers,
                                    environ_base={"REMOTE_ADDR": "10.9.8.7"}, **kwargs)
        assert response.status_code == expected, response.get_json()
        return response.get_json(silent=True)


def audit(client: Any, **query: Any) -> list[dict[str, Any]]:
    """The signed-in user's tenant's audit records, newest first."""
    response = client.get("/v1/audit-logs", query_string={"page_size": 100, **query})
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["results"])


def one(client: Any, action: str, request_id: str) -> dict[str, Any]:
    found = [r for r in audit(client, action=action) if r["request_id"] == request_id]
    assert len(found) == 1, (action, request_id, audit(client))
    return found[0]


def make_named_user(ctx: Context, email: str, name: str, role: str | None,
                    tenant_id: str = TENANT_ID, is_operator: bool = False) -> int:
    with ctx.db.transaction() as session:
        user = add_user(session, ctx, email, PASSWORD, name=name, is_operator=is_operator)
        if role is not None:
            add_member(session, tenant_id, user.id, role)
        return user.id


def test_staff_changes_are_audited_with_people_masked(client: Any, tenants: Context) -> None:
    owner = make_named_user(tenants, "boss@example.com", "Wanjiru Kamau", "owner")
    me = Caller(client, log_in(client, "boss@example.com"))
    actor = f"user:{owner}"

    invited = me.send("POST", "/v1/invitations", 201,
                      json={"email": "Jane.Doe@Example.com", "role": "viewer"})
    record = one(client, "invitation.create", me.last)
    assert (record["actor"], record["target_type"], record["target_id"]) == (
        actor, "invitation", str(invited["id"]))
    assert record["after"]["email"] == "j****@example.com" and record["after"]["role"] == "viewer"
    assert record["before"] is None and record["ip"] == "10.9.8.7"
    assert record["route"] == "POST /v1/invitations"
    assert invited["token"] not in json.dumps(record) and "link" not in record["after"]

    # The invited person accepts (no credentials: the link's token): they are the actor.
    stranger = client.application.test_client()
    accept_id = _request_id()
    joined = stranger.post("/v1/invitations/accept", headers={"X-Request-ID": accept_id},
                           json={"token": invited["token"], "password": STRONG,
                                 "name": "Jane Doe"})
    assert joined.status_code == 201, joined.get_json()
    jane = joined.get_json()["user"]["id"]
    record = one(client, "invitation.accept", accept_id)
    assert record["actor"] == f"user:{jane}" and record["target_id"] == str(invited["id"])
    assert record["before"]["accepted_at"] is None and record["after"]["accepted_at"]
    assert record["after"]["member"] == {"user_id": jane, "email": "j****@example.com",
                                         "full_name": "****", "role": "viewer"}

    me.send("PATCH", f"/v1/members/{jane}", 200, json={"role": "finance"})
    record = one(client, "member.role_change", me.last)
    assert (record["actor"], record["target_type"], record["target_id"]) == (
        actor, "member", str(jane))
    assert (record["before"]["role"], record["after"]["role"]) == ("viewer", "finance")
    assert record["before"]["email"] == "j****@example.com"
    assert record["after"]["full_name"] == "****"

    me.send("PUT", f"/v1/members/{jane}/overrides", 200,
            json={"allow": ["catalog:write"], "deny": ["wallet:approve"]})
    record = one(client, "member.overrides_change", me.last)
    assert record["before"] == {"allow": [], "deny": []}
    assert record["after"] == {"allow": ["catalog:write"], "deny": ["wallet:approve"]}

    me.send("POST", "/v1/roles", 201, json={"name": "stock-clerk", "scopes": ["catalog:read"]})
    created = one(client, "role.create", me.last)
    me.send("PUT", "/v1/roles/stock-clerk", 200,
            json={"scopes": ["catalog:read", "catalog:write"]})
    updated = one(client, "role.update", me.last)
    me.send("DELETE", "/v1/roles/stock-clerk", 204)
    deleted = one(client, "role.delete", me.last)
    assert created["target_id"] == "stock-clerk" and created["after"]["scopes"] == ["catalog:read"]
    assert updated["before"]["scopes"] == ["catalog:read"]
    assert updated["after"]["scopes"] == ["catalog:read", "catalog:write"]
    assert deleted["before"]["scopes"] == ["catalog:read", "catalog:write"]
    assert deleted["after"] is None

    second = me.send("POST", "/v1/invitations", 201,
                     json={"email": "temp.worker@example.com", "role": "viewer"})
    me.send("DELETE", f"/v1/invitations/{second['id']}", 200)
    record = one(client, "invitation.revoke", me.last)
    assert record["before"]["revoked_at"] is None and record["after"]["revoked_at"]
    assert record["after"]["email"] == "t****@example.com"

    token = me.send("POST", "/v1/tokens", 201, json={"name": "stock sync",
                                                    "scopes": ["catalog:read"]},
                    headers={"X-TENANT-ID": TENANT_ID})
    record = one(client, "token.create", me.last)
    assert (record["actor"], record["target_id"]) == (actor, str(token["id"]))
    assert record["after"]["scopes"] == ["catalog:read"] and record["after"]["name"] == "stock sync"
    assert token["token"] not in json.dumps(record)
    me.send("DELETE", f"/v1/tokens/{token['id']}", 204)
    record = one(client, "token.revoke", me.last)
    assert record["before"]["revoked_at"] is None and record["after"]["revoked_at"]

    me.send("DELETE", f"/v1/members/{jane}", 204)
    record = one(client, "member.remove", me.last)
    assert record["before"]["role"] == "finance" and record["after"] is None

    everything = audit(client)
    text = json.dumps(everything).lower()
    for secret in ("jane.doe@", "jane doe", "temp.worker@", "boss@", "wanjiru"):
        assert secret not in text
    # The services recorded these writes: no generic record repeats them.
    assert not [r["action"] for r in everything
                if r["action"].startswith(("members.", "tokens.", "invitation_accept."))]
    # Every record names its request.
    assert all(r["request_id"] for r in everything)


def test_a_refused_change_leaves_no_record(client: Any, tenants: Context) -> None:
    make_user(tenants, "only.owner@example.com", "owner")
    me = Caller(client, log_in(client, "only.owner@example.com"))
    owner_id = client.get("/v1/auth/me").get_json()["user"]["id"]
    me.send("PATCH", f"/v1/members/{owner_id}", 409, json={"role": "viewer"})  # the last owner
    me.send("POST", "/v1/roles", 422, json={"name": "x1", "scopes": ["no:such"]})
    assert [r for r in audit(client) if r["request_id"] == me.last] == []
    assert audit(client, action="member.role_change") == []


def test_subscription_and_tier_changes_are_audited(client: Any, tenants: Context) -> None:
    owner = make_user(tenants, "payer@example.com", "owner")
    me = Caller(client, log_in(client, "payer@example.com"))
    me.send("PATCH", "/v1/subscription", 200,
            json={"tier": "growth", "cycle": "yearly", "billing_phone": "0712345678"})
    record = one(client, "subscription.update", me.last)
    assert record["actor"] == f"user:{owner}" and record["target_type"] == "subscription"
    assert (record["before"]["tier"], record["after"]["tier"]) == ("starter", "growth")
    assert (record["before"]["cycle"], record["after"]["cycle"]) == ("monthly", "yearly")
    assert record["before"]["billing_phone"] is None
    assert record["after"]["billing_phone"] != "+254712345678"
    assert "712345678" not in json.dumps(record)
    tier = one(client, "tenant.tier_change", me.last)
    assert (tier["before"], tier["after"]["tier"]) == ({"tier": "starter"}, "growth")
    assert tier["after"]["usage"]["users"] == 1


def test_operator_actions_are_audited_on_the_tenant(client: Any, tenants: Context) -> None:
    operator = make_user(tenants, "ops@platform.example", None, is_operator=True)
    ops = Caller(client, log_in(client, "ops@platform.example"))
    sid, token = "AC" + "cd" * 16, "tw1lio-auth-t0ken-never-shown"
    made = ops.send("POST", "/v1/platform/tenants", 201, json={
        "name": "Duka la Juma", "slug": "duka-juma", "whatsapp_number": "+254711000402",
        "twilio_account_sid": sid, "twilio_auth_token": token, "sandbox": True,
        "timezone": "Africa/Nairobi", "primary_language": "sw", "languages": ["en"],
        "tier": "starter", "owner_email": "Juma.Owner@Duka.example"})
    created_by = ops.last
    ops.send("POST", "/v1/platform/tenants/duka-juma/suspension", 200,
             json={"reason": "unpaid invoice"})
    suspended_by = ops.last
    ops.send("POST", "/v1/platform/tenants/duka-juma/reactivation", 200,
             json={"reason": "paid"})
    reactivated_by = ops.last
    ops.send("PUT", "/v1/platform/tenants/duka-juma/tier", 200, json={"tier": "growth"})
    tiered_by = ops.last
    waiver = ops.send("POST", "/v1/platform/tenants/duka-juma/fee-waivers", 201,
                      json={"reason": "launch promotion"})
    waived_by = ops.last
    ops.send("POST", f"/v1/platform/tenants/duka-juma/fee-waivers/{waiver['id']}/revocation",
             200, json={"reason": "promotion over"})
    unwaived_by = ops.last

    # The new owner joins through the link and reads their tenant's log.
    owner_client = client.application.test_client()
    invitation = made["owner_invitation_link"].split("token=", 1)[1]
    joined = owner_client.post("/v1/invitations/accept", json={
        "token": invitation, "password": STRONG, "name": "Juma Hamisi"})
    assert joined.status_code == 201, joined.get_json()
    log_in(owner_client, "juma.owner@duka.example", STRONG)
    actor = f"user:{operator}"

    record = one(owner_client, "tenant.create", created_by)
    assert (record["actor"], record["target_type"], record["target_id"]) == (
        actor, "tenant", "duka-juma")
    assert record["after"]["name"] == "Duka la Juma" and record["after"]["tier"] == "starter"
    assert record["after"]["owner_email"] == "j****@duka.example"
    assert record["after"]["twilio_account"] == "AC…cdcd"
    credentials = one(owner_client, "tenant.twilio_credentials_set", created_by)
    assert credentials["actor"] == actor
    assert credentials["after"] == {"twilio_account": "AC…cdcd",
                                    "twilio_auth_token": "[redacted]", "sandbox": True}
    assert one(owner_client, "invitation.create", created_by)["after"]["role"] == "owner"
    record = one(owner_client, "tenant.suspend", suspended_by)
    assert record["before"] == {"status": "active"}
    assert record["after"] == {"status": "suspended", "reason": "unpaid invoice"}
    record = one(owner_client, "tenant.reactivate", reactivated_by)
    assert (record["before"], record["after"]["status"]) == ({"status": "suspended"}, "active")
    record = one(owner_client, "tenant.tier_change", tiered_by)
    assert (record["actor"], record["before"], record["after"]["tier"]) == (
        actor, {"tier": "starter"}, "growth")
    assert one(owner_client, "tenant.update", tiered_by)["after"]["tier"] == "growth"
    record = one(owner_client, "fee_waiver.grant", waived_by)
    assert record["after"]["reason"] == "launch promotion" and record["after"]["active"]
    record = one(owner_client, "fee_waiver.revoke", unwaived_by)
    assert record["before"]["revoked_at"] is None
    assert record["after"]["revoke_reason"] == "promotion over"

    everything = json.dumps(audit(owner_client))
    assert token not in everything and sid not in everything
    assert "juma.owner@" not in everything.lower() and "Juma Hamisi" not in everything
    # Nothing of it reaches another tenant's log.
    other = client.get("/v1/audit-logs", headers=merchant_headers()).get_json()
    assert other["count"] == 0
