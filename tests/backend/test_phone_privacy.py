"""Phones out of clear text: the assistant's opaque customer reference (issued by the inbound log,
resolved per tenant), and phones masked in the inbound log, NLU log, payment events and
idempotency keys; the migration that rewrites rows stored before."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from backend.wiring import Context
from backend.db import ensure_sqlite_directory, make_engine
from backend.migrate import alembic_config
from backend.services.payments.webhooks import store_event
from tests.backend.commerce_helpers import seed_catalog
from tests.backend.conftest import OTHER_ID, TENANT_ID, merchant_headers, service_headers
from tests.backend.payment_helpers import stk_callback

PHONE = "+254711000123"
DIGITS = "711000123"  # what must never be stored in clear (any spelling contains it)
INBOUND = "/internal/v1/messages/inbound"


def log_inbound(client, sid: str, body: str = "habari", tenant: str = TENANT_ID,
                phone: str = PHONE) -> dict:
    response = client.post(INBOUND, json={"tenant_id": tenant, "from": phone,
                                          "message_sid": sid, "body": body},
                           headers=service_headers())
    assert response.status_code == 201, response.get_json()
    answer: dict = response.get_json()
    return answer


def as_customer(ref: str, tenant: str = TENANT_ID, **extra: str) -> dict[str, str]:
    return {**service_headers(tenant), "X-CUSTOMER-REF": ref, **extra}


def stored_text(ctx: Context, sql: str) -> str:
    with ctx.db.engine.connect() as connection:
        return json.dumps([list(map(str, row)) for row in connection.execute(text(sql))])


def test_the_inbound_log_issues_an_opaque_reference_per_tenant(client, tenants) -> None:
    first = log_inbound(client, "SMP1")
    again = log_inbound(client, "SMP2", phone="0711000123")  # same customer, another spelling
    elsewhere = log_inbound(client, "SMP3", tenant=OTHER_ID)
    assert first["customer_ref"] == again["customer_ref"]
    assert elsewhere["customer_ref"] != first["customer_ref"]  # not linkable across tenants
    for ref in (first["customer_ref"], elsewhere["customer_ref"]):
        assert DIGITS not in ref and ref.startswith("c") and len(ref) == 25


def test_the_reference_acts_for_its_customer_within_its_tenant_only(client, tenants) -> None:
    ref = log_inbound(client, "SMP4")["customer_ref"]
    mine = client.get("/v1/customers/me/preferences", headers=as_customer(ref))
    assert mine.status_code == 200, mine.get_json()
    by_phone = client.get("/v1/customers/me/preferences",
                          headers={**service_headers(TENANT_ID), "X-CUSTOMER-PHONE": PHONE})
    assert by_phone.get_json() == mine.get_json()  # tools may still name the customer by phone
    other_tenant = client.get("/v1/customers/me/preferences", headers=as_customer(ref, OTHER_ID))
    assert other_tenant.status_code == 404
    assert other_tenant.get_json()["description"]
    unknown = client.get("/v1/customers/me/preferences",
                         headers=as_customer("c" + "0" * 24))
    assert unknown.status_code == 404
    malformed = client.get("/v1/customers/me/preferences", headers=as_customer(PHONE))
    assert malformed.status_code == 400
    merchant = client.get("/v1/carts/current",
                          headers={**merchant_headers(), "X-CUSTOMER-REF": ref})
    assert merchant.status_code == 403  # the service's route: the scope check refuses a key


def test_merchants_still_see_the_customer_behind_a_reference(client, tenants) -> None:
    ref = log_inbound(client, "SMP5")["customer_ref"]
    handoff = client.post("/internal/v1/conversations/handoff", headers=service_headers(), json={
        "tenant_id": TENANT_ID, "customer_ref": ref, "sender_id": f"{TENANT_ID}:{ref}",
        "reason": "requested"})
    assert handoff.status_code == 200, handoff.get_json()
    [item] = client.get("/v1/conversations", headers=merchant_headers()).get_json()["results"]
    assert item["customer_phone"] == PHONE


def test_a_phone_typed_in_a_message_is_logged_masked(client, tenants) -> None:
    log_inbound(client, "SMP6", body="Nipigie 0711 000 123 au +254711000123 kesho")
    body = stored_text(tenants, "SELECT body FROM inbound_messages")
    assert DIGITS not in body.replace(" ", "")
    assert "07****123" in body and "+2547****123" in body and "kesho" in body


def test_classified_messages_are_linked_by_reference_and_stored_masked(client, tenants) -> None:
    ref = log_inbound(client, "SMP7")["customer_ref"]
    response = client.post("/internal/v1/nlu/classifications", headers=service_headers(), json={
        "classifications": [{
            "tenant_id": TENANT_ID, "sender_id": f"{TENANT_ID}:{ref}", "message_id": "m-7",
            "message_sid": None, "text": "lipa na 0711000123", "intent": "inform",
            "confidence": 0.9, "language": "sw", "ranking": [],
            "entities": [{"entity": "phone_number", "value": "0711000123"}]}]})
    assert response.status_code == 202, response.get_json()
    [row] = client.get("/v1/nlu/classifications", headers=merchant_headers()).get_json()["results"]
    assert row["customer_id"] is not None  # found through the reference in the sender id
    assert row["text"] == "lipa na 07****123"
    assert row["entities"] == [{"entity": "phone_number", "value": "07****123"}]
    assert DIGITS not in stored_text(tenants, "SELECT text, entities FROM nlu_classifications")


def test_a_phone_in_an_idempotency_key_is_stored_as_its_keyed_hash(client, tenants) -> None:
    variants = seed_catalog(tenants)
    ref = log_inbound(client, "SMP8")["customer_ref"]
    key = f"{TENANT_ID}:{PHONE}:m-8:order"  # what the actions sent before references
    headers = as_customer(ref, **{"Idempotency-Key": key})
    added = client.post("/v1/carts/current/items", headers=as_customer(ref),
                        json={"variant_id": variants["SNK-WHT-40"], "quantity": 1})
    assert added.status_code == 201, added.get_json()
    first = client.post("/v1/orders", json={}, headers=headers)
    again = client.post("/v1/orders", json={}, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]  # still idempotent
    assert again.headers["Idempotent-Replayed"] == "true"
    stored = stored_text(tenants, "SELECT key FROM idempotency_keys")
    assert DIGITS not in stored and ":ph-" in stored


def test_payment_events_are_stored_with_phones_masked(tenants) -> None:
    payload = stk_callback("ws_CO_1")
    payload["Body"]["stkCallback"]["CallbackMetadata"]["Item"][-1]["Value"] = int("254" + DIGITS)
    stored = store_event(tenants, "daraja", "ws_CO_1", "stk_callback", payload, TENANT_ID)
    assert stored is not None
    saved = stored_text(tenants, "SELECT payload FROM payment_events")
    assert DIGITS not in saved and "2547****123" in saved
    assert "20191219102115" in saved and "NLJ7RT61SV" in saved  # nothing else is touched


def insert_row(connection, table: str, **values: object) -> None:
    """A row with `values`; other NOT NULL columns get a neutral value of their type."""
    for column in connection.execute(text(f"PRAGMA table_info({table})")).mappings():
        if column["notnull"] and not column["pk"] and column["name"] not in values:
            kind = column["type"].upper()
            values[column["name"]] = (0 if "INT" in kind or "BOOL" in kind else
                                      "{}" if "JSON" in kind else
                                      "2026-12-01 08:00:00" if "DATE" in kind else "x")
    names = ", ".join(values)
    connection.execute(text(f"INSERT INTO {table} ({names}) VALUES "
                            f"({', '.join(':' + n for n in values)})"), values)


def test_the_migration_masks_rows_stored_before_and_issues_references(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0007")
    engine = create_engine(url)
    now = "2026-12-01 08:00:00"
    with engine.begin() as connection:
        insert_row(connection, "tenants", id="t", whatsapp_number="+254700000009",
                   status="active", tier="starter")
        for n in (1, 2):
            connection.execute(text(
                "INSERT INTO customers (id, tenant_id, phone_encrypted, phone_hash, "
                "consent_transactional, consent_reminders, consent_promotional, created_at) "
                f"VALUES ({n}, 't', 'enc{n}', 'hash{n}', 1, 1, 0, :now)"), {"now": now})
        connection.execute(text(
            "INSERT INTO inbound_messages (tenant_id, customer_id, provider_sid, body, media, "
            "created_at) VALUES ('t', 1, 'SM1', 'namba yangu ni 0711000123', '[]', :now)"),
            {"now": now})
        connection.execute(text(
            "INSERT INTO idempotency_keys (tenant_id, key, endpoint, request_hash, resource_id, "
            "created_at) VALUES ('t', 't:+254711000123:m1:order', 'orders', 'h', 1, :now)"),
            {"now": now})
        connection.execute(text(
            "INSERT INTO payment_events (provider, event_id, kind, payload, tenant_id, status, "
            "received_at) VALUES ('daraja', 'e1', 'c2b', :payload, 't', 'processed', :now)"),
            {"now": now, "payload": json.dumps({"MSISDN": "254711000123", "TransAmount": "10"})})
    monkeypatch.setenv("HASH_KEY", "test-hash-key")
    command.upgrade(config, "head")
    with engine.connect() as connection:
        refs = connection.execute(text("SELECT ref FROM customers ORDER BY id")).scalars().all()
        dump = json.dumps([
            connection.execute(text(f"SELECT * FROM {table}")).all().__repr__()
            for table in ("inbound_messages", "idempotency_keys", "payment_events")])
    assert len(set(refs)) == 2 and all(r and r.startswith("c") for r in refs)
    assert DIGITS not in dump
    assert "07****123" in dump and "2547****123" in dump and "t:ph-" in dump
    command.downgrade(config, "0007")  # no table copy: the customers' messages stay
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM inbound_messages")).scalar() == 1
    engine.dispose()


@pytest.fixture
def loose_umask():
    """The process starts with the usual 022 (files 0644) and gets it back afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_sqlite_database_is_created_owner_only(tmp_path: Path, loose_umask) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'app.db'}"
    ensure_sqlite_directory(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "data" / "app.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_an_existing_readable_database_is_made_owner_only(tmp_path: Path, loose_umask) -> None:
    old = tmp_path / "old.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    ensure_sqlite_directory(f"sqlite:///{old}")
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_every_backend_process_creates_owner_only_files(
        tmp_path: Path, loose_umask, make_app) -> None:
    make_app()  # what gunicorn workers, RQ workers and scripts do first: build the context
    (tmp_path / "index.faiss").write_bytes(b"x")
    (tmp_path / "kb").mkdir()
    assert stat.S_IMODE((tmp_path / "index.faiss").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "kb").stat().st_mode) == 0o700
