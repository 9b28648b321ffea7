"""Tenant isolation: every /v1 route, called as a second tenant with the first tenant's ids,
answers 404 (never 2xx, never 403), and changes nothing of the first tenant.

The walk reads the live URL map, so a new route is covered the day it is added: a path
parameter this test cannot fill fails the test (add it to TABLE_BY_PARAMETER), and so does a
route that answers 2xx or 403 to another tenant's id.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Table, select

from backend.wiring import Context
from backend.models import Base
from backend.seed.platform import DEMO_TENANTS, seed_tenant
from backend.services.conversations.inbound import IncomingMessage, record_inbound
from tests.backend.conftest import SERVICE_TOKEN

FIRST, SECOND = DEMO_TENANTS[2], DEMO_TENANTS[1]  # demo-duka (mixed) owns the ids we try
# URL parameter → table whose rows it names.
TABLE_BY_PARAMETER = {
    "invoice_id": "invoices",
    "product_id": "products",
    "variant_id": "product_variants",
    "service_id": "services",
    "order_id": "orders",
    "appointment_id": "appointments",
    "customer_id": "customers",
    "conversation_id": "conversations",
    "api_key_id": "api_keys",
    "item_id": "cart_items",
    "window_id": "availability_windows",
    "cart_id": "carts",
    "entry_id": "kb_entries",
    "document_id": "kb_documents",
    "payment_id": "payments",
    "withdrawal_id": "withdrawals",
    "message_id": "outbound_messages",
    "template_id": "message_templates",
    "campaign_id": "campaigns",
    "invitation_id": "invitations",
    "user_id": "members",  # FIRST's members' user ids (users have no tenant: see `seeded`)
    "token_id": "personal_access_tokens",
    "setup_id": "billing_cards",
    "run_id": "integration_runs",
    "classification_id": "nlu_classifications",
    "zone_id": "delivery_zones",
}
# String parameters: what FIRST has under that name (its own custom role).
STRING_BY_PARAMETER = {"name": "isolation-role", "provider": "woocommerce"}
# Where one parameter name means another table on some routes.
TABLE_BY_RULE_AND_PARAMETER = {("/v1/service-variants/", "variant_id"): "service_variants"}
# The operator's routes span every tenant by design (a merchant key gets 403 there:
# test_operator_tenants.py).
SKIPPED = re.compile(r"^/v1/(health|sandbox|platform)(/|$)")
METHODS = ("GET", "PATCH", "PUT", "DELETE", "POST")
# (method, rule) whose body is validated before the object is looked up, so an empty body is
# 422 whatever the id: each gets a valid body here, which must then give 404.
VALIDATED_BEFORE_LOOKUP: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/customers/<int:customer_id>/preferences"): {"promotional": True},
    ("PATCH", "/v1/conversations/<int:conversation_id>"): {"needs_human": True},
    ("POST", "/v1/conversations/<int:conversation_id>/replies"): {"body": "Habari, nimekuona"},
    ("POST", "/v1/appointments/<int:appointment_id>/reschedule"): {
        "starts_at": "2030-01-07T10:00:00+03:00"},
    ("POST", "/v1/orders/<int:order_id>/transitions"): {"to": "cancelled"},
    ("POST", "/v1/orders/<int:order_id>/payments"): {"method": "mpesa_manual"},
    ("PATCH", "/v1/carts/current/items/<int:item_id>"): {"quantity": 1},
    ("PATCH", "/v1/kb/entries/<int:entry_id>"): {"title": "Isolation"},
    ("PATCH", "/v1/message-templates/<int:template_id>"): {"category": "marketing"},
    ("POST", "/v1/message-templates/<int:template_id>/preview"): {"language": "en"},
    ("PUT", "/v1/customers/<int:customer_id>/tags"): {"tags": ["isolation"]},
    ("PATCH", "/v1/kb/documents/<int:document_id>"): {"title": "Isolation"},
    ("POST", "/v1/products/<int:product_id>/variants"): {
        "sku": "ISOLATION-1", "price_minor": 100, "stock": 1},
    ("POST", "/v1/services/<int:service_id>/variants"): {
        "name": "Isolation", "duration_minutes": 30, "price_minor": 100},
    ("POST", "/v1/services/<int:service_id>/windows"): {
        "weekday": 1, "start": "09:00", "end": "10:00", "capacity": 1},
    ("PATCH", "/v1/members/<int:user_id>"): {"role": "viewer"},
    ("PUT", "/v1/roles/<string:name>"): {"scopes": ["catalog:read"]},
    ("PUT", "/v1/nlu/review/<int:classification_id>"): {"decision": "discard"},
}
# (method, rule) whose path parameter names a kind, not another tenant's object: the caller's own
# (connecting a WooCommerce store makes the caller's own integration).
CALLERS_OWN = {("POST", "/v1/integrations/<string:provider>")}
# A signed-in user's own objects (their personal access tokens): service and merchant
# credentials get 401 there whatever the ids, which leaks nothing.
USER_ROUTE = re.compile(r"^/v1/tokens(/|$)")
# Routes for the assistant acting for one customer (X-CUSTOMER-PHONE): a merchant key gets 403
# there (they are the service's) whatever the ids, which leaks nothing.
ACTING_ROUTE = re.compile(r"/(me|current)(/|$)")
ACTING_PHONE = "+254713000005"  # a customer of the FIRST tenant: the second must not see theirs


def table_for(rule: str, parameter: str) -> str:
    for (prefix, name), table in TABLE_BY_RULE_AND_PARAMETER.items():
        if rule.startswith(prefix) and name == parameter:
            return table
    if parameter not in TABLE_BY_PARAMETER:
        pytest.fail(f"{rule}: add <{parameter}> to TABLE_BY_PARAMETER so isolation is tested")
    return TABLE_BY_PARAMETER[parameter]


def tenant_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.columns]


def first_tenant_rows(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    with ctx.db.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(
                    select(table).where(table.c.tenant_id == FIRST.tenant.id).order_by(
                        *table.primary_key.columns)
                )
            ]
            for table in tenant_tables()
        }


@pytest.fixture
def seeded(ctx: Context, client) -> dict[str, list[int]]:
    """Both tenants seeded as the demo is; returns the FIRST tenant's ids per table."""
    from backend.seed.payments import seed_payments
    from backend.services.platform.auth import authenticate_merchant

    from backend.seed.commerce import seed_commerce

    for demo in (FIRST, SECOND):
        tenant = seed_tenant(ctx, demo)
        seed_commerce(ctx, tenant.tenant_id, tenant.kind, tenant.customer_ids)
        seed_payments(ctx, tenant.tenant_id, authenticate_merchant(ctx, tenant.tenant_id,
                                                                   demo.api_key))
        _knowledge_base(ctx, tenant.tenant_id)
    # A conversation and a cart of the first tenant, made the way the channel and assistant do.
    inbound = record_inbound(
        ctx, IncomingMessage(FIRST.tenant.id, ACTING_PHONE, "SMISOLATION", "Niaje"))
    _first_tenant_cart_item(ctx, client)
    _messaging(ctx, inbound.customer_id)
    for demo in (FIRST, SECOND):
        _invoice(ctx, demo.tenant.id)
    _staff(ctx)
    _billing_card_and_store(ctx)
    _nlu_classification(ctx)
    ids: dict[str, list[int]] = {}
    with ctx.db.engine.connect() as connection:
        for table in tenant_tables():
            if "id" in table.columns:
                ids[table.name] = list(connection.execute(
                    select(table.c.id).where(table.c.tenant_id == FIRST.tenant.id)).scalars())
        memberships = Base.metadata.tables["memberships"]
        ids["members"] = list(connection.execute(select(memberships.c.user_id).where(
            memberships.c.tenant_id == FIRST.tenant.id)).scalars())
    return ids


def _invoice(ctx: Context, tenant_id: str) -> None:
    """An open subscription invoice per tenant (what the billing run issues when a trial ends)."""
    from backend.models import Tenant
    from backend.models.base import utcnow
    from backend.services.billing.invoices import issue_invoice
    from backend.services.billing.subscriptions import subscription_for

    with ctx.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        issue_invoice(ctx, session, subscription_for(session, tenant), utcnow())


def _staff(ctx: Context) -> None:
    """Both tenants' demo staff; FIRST's owner has a token, FIRST a custom role and an
    invitation."""
    from backend.seed.accounts import seed_staff, staff_email
    from backend.services.accounts.access import create_role
    from backend.services.accounts.members import invite
    from backend.services.accounts.sessions import create_token
    from backend.services.accounts.users import find_user

    seed_staff(ctx, [FIRST.tenant.id, SECOND.tenant.id])
    create_role(ctx, FIRST.tenant.id, STRING_BY_PARAMETER["name"], ["catalog:read"])
    invite(ctx, FIRST.tenant.id, "isolation@example.com", "viewer", None)
    with ctx.db.transaction() as session:
        owner = find_user(session, staff_email(FIRST.tenant.id, "owner"))
        assert owner is not None
        owner_id = owner.id
    create_token(ctx, owner_id, FIRST.tenant.id, "isolation")


def _billing_card_and_store(ctx: Context) -> None:
    """FIRST's card set-up (pending at the provider) and its WooCommerce store with one run."""
    from backend.models import BillingCard, IntegrationRun, StoreIntegration

    with ctx.db.transaction() as session:
        session.add(BillingCard(tenant_id=FIRST.tenant.id, provider="paystack",
                                reference="BCS-isolation", status="pending"))
        store = StoreIntegration(
            tenant_id=FIRST.tenant.id, provider="woocommerce", store_url="https://shop.example",
            api_url="https://shop.example", credentials_encrypted=ctx.crypto.encrypt("{}"),
            webhook_token_hash="0" * 64, webhook_token_encrypted=ctx.crypto.encrypt("token"))
        session.add(store)
        session.flush()
        session.add(IntegrationRun(tenant_id=FIRST.tenant.id, integration_id=store.id,
                                   kind="initial", status="succeeded"))


def _nlu_classification(ctx: Context) -> None:
    """A message FIRST's assistant was unsure of (in the NLU review queue)."""
    from backend.models import NluClassification

    with ctx.db.transaction() as session:
        session.add(NluClassification(tenant_id=FIRST.tenant.id, message_id="isolation-1",
                                      text="hizo ni ngapi", intent="price_check",
                                      confidence=0.3, language="sw"))


def _knowledge_base(ctx: Context, tenant_id: str) -> None:
    """An FAQ entry and a document per tenant (the demo KB files cover entries only for some)."""
    from backend.services.knowledge.kb import import_kb

    import_kb(ctx, tenant_id, {
        "entries": [{"key": "hours", "questions": ["When do you open?"],
                     "answers": {"en": f"{tenant_id} opens at 8 am."}}],
        "documents": [{"title": "Policies", "text": f"{tenant_id} policies."}],
    })


def _messaging(ctx: Context, customer_id: int) -> None:
    """A template per tenant and a scheduled message of the first tenant's."""
    from datetime import UTC, datetime, timedelta

    from backend.services.conversations.messaging import SendRequest, send_message
    from backend.services.conversations.templates import create_template

    for demo in (FIRST, SECOND):
        create_template(ctx, demo.tenant.id, {
            "name": "isolation", "category": "utility", "placeholders": ["name"],
            "variants": {"en": "Hi {{name}}, thanks."}})
    send_message(ctx, FIRST.tenant.id, SendRequest(
        customer_id=customer_id, kind="transactional", text="Isolation",
        send_at=datetime.now(UTC) + timedelta(hours=1)))
    from backend.models import Campaign

    with ctx.db.transaction() as session:  # a campaign of the first tenant, still scheduled
        session.add(Campaign(tenant_id=FIRST.tenant.id, name="Isolation", status="scheduled",
                             segment={}, send_at=datetime.now(UTC) + timedelta(hours=1),
                             seed=1, recipients=0, batches=0))


def _first_tenant_cart_item(ctx: Context, client) -> None:
    with ctx.db.engine.connect() as connection:
        variants = Base.metadata.tables["product_variants"]
        variant_id = connection.execute(
            select(variants.c.id).where(variants.c.tenant_id == FIRST.tenant.id,
                                        variants.c.stock > 0).order_by(variants.c.id).limit(1)
        ).scalar_one()
    response = client.post(
        "/v1/carts/current/items",
        json={"variant_id": variant_id, "quantity": 1},
        headers={**service(FIRST.tenant.id), "X-CUSTOMER-PHONE": ACTING_PHONE},
    )
    assert response.status_code == 201, response.get_json()


def service(tenant_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-TENANT-ID": tenant_id}


CREDENTIALS = {
    "merchant_key": {"X-TENANT-ID": SECOND.tenant.id, "X-TENANT-API-KEY": SECOND.api_key},
    "service_token": {**service(SECOND.tenant.id), "X-CUSTOMER-PHONE": ACTING_PHONE},
}


def v1_rules(app: Flask) -> list[tuple[str, list[str], str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or SKIPPED.match(rule.rule):
            continue
        methods = [m for m in METHODS if m in (rule.methods or set())]
        rules.append((rule.rule, methods, rule.endpoint))
    return sorted(rules)


def fill(rule: str, ids: dict[str, list[int]]) -> str:
    def one(match: re.Match[str]) -> str:
        converter, parameter = match.group(1), match.group(2)
        if converter == "string" and parameter in STRING_BY_PARAMETER:
            return STRING_BY_PARAMETER[parameter]
        if converter != "int":
            pytest.fail(f"{rule}: <{converter}:{parameter}> is not an id this test can fill")
        table = table_for(rule, parameter)
        if not ids.get(table):
            pytest.fail(f"{rule}: the seed gave {FIRST.tenant.id} no {table} row to try")
        return str(ids[table][0])

    return re.sub(r"<(?:(\w+):)?(\w+)>", one, rule)


def call(client, method: str, url: str, headers: dict[str, str], body: Any = None):
    if method in ("GET", "DELETE"):
        return client.open(url, method=method, headers=headers)
    return client.open(url, method=method, headers=headers, json={} if body is None else body)


def listed_ids(body: Any) -> set[int]:
    results = body.get("results", []) if isinstance(body, dict) else []
    return {item["id"] for item in results if isinstance(item, dict) and "id" in item}


@pytest.mark.parametrize("credentials", sorted(CREDENTIALS))
def test_no_route_reaches_another_tenants_objects(
    app: Flask, client, ctx: Context, seeded: dict[str, list[int]], credentials: str
) -> None:
    headers = CREDENTIALS[credentials]
    before = first_tenant_rows(ctx)
    openapi = client.get("/openapi.json").get_json()
    leaks: list[str] = []
    checked = 0
    for rule, methods, _endpoint in v1_rules(app):
        has_ids = "<" in rule
        url = fill(rule, seeded)
        for method in methods:
            checked += 1
            response = call(client, method, url, headers)
            status = response.status_code
            where = f"{credentials} {method} {url} ({rule}) → {status}"
            if ACTING_ROUTE.search(rule) and credentials == "merchant_key" and status == 403:
                continue  # the service's routes: the scope check refuses a key whatever the ids
            if status >= 500 or status == 403:
                leaks.append(f"{where}: {response.get_data(as_text=True)[:200]}")
                continue
            if USER_ROUTE.match(rule) and status == 401:
                continue
            if not has_ids or (method, rule) in CALLERS_OWN:
                # The caller's own collection: it may answer, but never with FIRST's rows.
                if status in (200, 201) and method == "GET":
                    segment = rule.split("/")[2].replace("-", "_")
                    foreign = listed_ids(response.get_json()) & set(seeded.get(segment, []))
                    if foreign:
                        leaks.append(f"{where}: lists {segment} {sorted(foreign)[:5]}")
                    leaks.extend(_query_leaks(client, rule, openapi, headers, seeded, where))
                continue
            if status in (422, 400) and (method, rule) in VALIDATED_BEFORE_LOOKUP:
                retry = call(client, method, url, headers, VALIDATED_BEFORE_LOOKUP[(method, rule)])
                if retry.status_code != 404:
                    leaks.append(f"{where}; with a valid body → {retry.status_code}")
                continue
            if status != 404:
                leaks.append(f"{where}: {response.get_data(as_text=True)[:200]}")
    assert checked > 40, "the URL map walk found too few routes"
    assert not leaks, "another tenant's objects were reachable:\n" + "\n".join(leaks)
    assert first_tenant_rows(ctx) == before, "the first tenant's data changed"


def _query_leaks(client, rule, openapi, headers, seeded, where) -> list[str]:
    """List routes filtered by an id (?customer_id=…): FIRST's id must match nothing."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
    parameters = openapi["paths"].get(path, {}).get("get", {}).get("parameters", [])
    leaks = []
    for parameter in parameters:
        name = parameter["name"]
        if parameter.get("in") != "query" or name not in TABLE_BY_PARAMETER:
            continue
        first_id = seeded[TABLE_BY_PARAMETER[name]][0]
        response = client.get(rule, query_string={name: first_id}, headers=headers)
        if response.status_code == 200 and listed_ids(response.get_json()):
            leaks.append(f"{where}: ?{name}={first_id} lists {sorted(listed_ids(response.get_json()))[:5]}")
        elif response.status_code not in (200, 404, 400, 422):
            leaks.append(f"{where}: ?{name}={first_id} → {response.status_code}")
    return leaks
