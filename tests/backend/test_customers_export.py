"""GET /v1/customers/export: the tenant's customers as CSV (phones decrypted, tags, consents,
first and last seen, orders and spend), read in chunks; customers:export only (owner, finance),
another tenant's user gets 404; the export is audited without personal data. And the
settings:read scope that GET /v1/tenant now declares."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.models import Conversation, CustomerTag, Order
from backend.services.platform.customer_export import COLUMNS, export_customers
from backend.services.platform.customers import upsert_customer
from backend.wiring import Context
from tests.backend.accounts_helpers import log_in, make_user
from tests.backend.conftest import OTHER_ID, TENANT_ID

SEEN = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def add_customers(ctx: Context) -> dict[str, int]:
    """Three customers of TENANT_ID (one with tags, orders and a conversation) and one of
    OTHER_ID; returns their ids by phone."""
    ids = {}
    with ctx.db.transaction() as session:
        for tenant, phone, name in ((TENANT_ID, "+254712000001", "Achieng Otieno"),
                                    (TENANT_ID, "+254712000002", "=HYPERLINK(\"x\")"),
                                    (TENANT_ID, "+254712000003", None),
                                    (OTHER_ID, "+254712000009", "Other Customer")):
            customer = upsert_customer(session, ctx.crypto, tenant, phone, name)
            session.flush()
            ids[phone] = customer.id
        first = ids["+254712000001"]
        session.add_all([CustomerTag(tenant_id=TENANT_ID, customer_id=first, tag=tag)
                         for tag in ("vip", "nairobi")])
        for status, total in (("paid", 150_000), ("delivered", 50_050), ("pending_payment", 999),
                              ("cancelled", 7_000), ("draft", 1)):
            session.add(Order(tenant_id=TENANT_ID, customer_id=first, status=status,
                              currency="KES", total_minor=total,
                              placed_at=None if status == "draft" else SEEN))
        session.add_all([
            Conversation(tenant_id=TENANT_ID, customer_id=first, started_at=SEEN - timedelta(9),
                         last_inbound_at=SEEN - timedelta(9), last_message_at=SEEN - timedelta(9)),
            Conversation(tenant_id=TENANT_ID, customer_id=first, started_at=SEEN,
                         last_inbound_at=SEEN, last_message_at=SEEN)])
    return ids


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    return list(csv.DictReader(io.StringIO(text)))


def test_owner_and_finance_export_their_tenants_customers(client: Any,
                                                           tenants: Context) -> None:
    ids = add_customers(tenants)
    owner = make_user(tenants, "owner@example.com", "owner")
    make_user(tenants, "money@example.com", "finance")
    csrf = log_in(client, "owner@example.com")
    response = client.get("/v1/customers/export", headers={"X-Request-ID": "req-export-1"})
    rows = csv_rows(response)
    assert [int(row["id"]) for row in rows] == sorted(
        ids[phone] for phone in ("+254712000001", "+254712000002", "+254712000003"))
    first = rows[0]
    assert first == {
        "id": str(ids["+254712000001"]), "phone": "+254712000001", "name": "Achieng Otieno",
        "language": "", "tags": "nairobi;vip", "consent_transactional": "true",
        "consent_reminders": "true", "consent_promotional": "false",
        "first_seen": first["first_seen"], "last_seen": SEEN.isoformat(),
        "orders_count": "3",  # paid, delivered, pending_payment (not cancelled, not a draft)
        "total_spent_minor": "200050", "currency": "KES"}
    assert datetime.fromisoformat(first["first_seen"]).tzinfo is not None
    assert rows[1]["name"] == "'=HYPERLINK(\"x\")"  # never run as a spreadsheet formula
    assert (rows[2]["name"], rows[2]["tags"], rows[2]["last_seen"], rows[2]["orders_count"],
            rows[2]["total_spent_minor"]) == ("", "", "", "0", "0")
    assert "+254712000009" not in response.get_data(as_text=True)  # only this tenant's

    logs = client.get("/v1/audit-logs", headers=csrf,
                      query_string={"action": "customers.export"}).get_json()["results"]
    assert len(logs) == 1
    record = logs[0]
    assert (record["actor"], record["request_id"], record["after"]["rows"]) == (
        f"user:{owner}", "req-export-1", 3)
    assert "+2547" not in json.dumps(record) and "Achieng" not in json.dumps(record)

    client.post("/v1/auth/logout", headers=csrf)
    log_in(client, "money@example.com")
    assert len(csv_rows(client.get("/v1/customers/export"))) == 3


def test_the_export_pages_through_the_customers(ctx: Context, tenants: Context) -> None:
    ids = add_customers(tenants)
    rows = export_customers(tenants, TENANT_ID, chunk=2)  # two chunks: 2, then 1
    assert [row.id for row in rows] == sorted(v for k, v in ids.items() if k != "+254712000009")
    assert rows[0].orders_count == 3 and rows[0].tags == ["nairobi", "vip"]


def test_viewers_and_other_tenants_users_cannot_export(client: Any, tenants: Context) -> None:
    add_customers(tenants)
    make_user(tenants, "looker@example.com", "viewer")
    make_user(tenants, "elsewhere@example.com", "owner", tenant_id=OTHER_ID)
    log_in(client, "looker@example.com")
    refused = client.get("/v1/customers/export")
    assert refused.status_code == 403
    assert refused.get_json()["errors"]["required_scope"] == ["customers:export"]
    other = client.application.test_client()
    log_in(other, "elsewhere@example.com")
    assert other.get("/v1/customers/export", headers={"X-TENANT-ID": TENANT_ID}).status_code \
        == 404
    rows = csv_rows(other.get("/v1/customers/export"))  # their own tenant's: one customer
    assert [row["phone"] for row in rows] == ["+254712000009"]


def test_settings_need_settings_read(client: Any, tenants: Context) -> None:
    """Support staff see the opening hours; a custom role without settings:read does not."""
    make_user(tenants, "boss@example.com", "owner")
    make_user(tenants, "helper@example.com", "support_agent")
    owner = client.application.test_client()
    csrf = log_in(owner, "boss@example.com")
    assert owner.post("/v1/roles", headers=csrf, json={
        "name": "stock-only", "scopes": ["catalog:read"]}).status_code == 201
    made = owner.post("/v1/invitations", headers=csrf,
                      json={"email": "stock@example.com", "role": "stock-only"}).get_json()
    assert client.post("/v1/invitations/accept", json={
        "token": made["token"], "password": "a-long-and-unusual-passphrase"}).status_code == 201
    log_in(client, "helper@example.com")
    answer = client.get("/v1/tenant")
    assert answer.status_code == 200 and "business_hours" in answer.get_json()
    log_in(client, "stock@example.com", "a-long-and-unusual-passphrase")
    refused = client.get("/v1/tenant")
    assert refused.status_code == 403
    assert refused.get_json()["errors"]["required_scope"] == ["settings:read"]
