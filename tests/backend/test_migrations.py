"""The Alembic migrations build exactly the models' schema, and go down and up again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from backend.migrate import alembic_config
from backend.models import Base


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models_and_round_trip(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue(f"{backend}_url")
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.check(config)  # raises when the models and the migrated schema differ
    command.downgrade(config, "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_batch_alter_on_sqlite_keeps_the_rows_that_cascade_from_it(tmp_path) -> None:
    """0018 rebuilds `tenants` on SQLite (copy, drop, rename): with foreign keys enforced the
    drop would first delete every customer, order... of every tenant (ON DELETE CASCADE)."""
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0017")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO tenants (id, name, whatsapp_number, twilio_account_sid, "
                "twilio_auth_token_encrypted, sandbox, primary_language, currency, timezone, "
                "status, tier, business_hours, features, created_at) VALUES ('shop', 'Shop', "
                "'+254700000001', 'AC1', 'x', 1, 'en', 'KES', 'Africa/Nairobi', 'active', "
                "'starter', '{}', '{}', '2026-01-01 00:00:00')"))
            connection.execute(text(
                "INSERT INTO customers (tenant_id, phone_encrypted, phone_hash, created_at, ref) "
                "VALUES ('shop', 'x', 'h', '2026-01-01 00:00:00', 'c1')"))
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM customers")).scalar() == 1
        command.downgrade(config, "0017")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM customers")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0019_adds_settings_read_where_analytics_read_is_stored(
        backend: str, request: pytest.FixtureRequest) -> None:
    """Whoever could read the settings (analytics:read) before 0019 still can: API keys, narrowed
    tokens, custom roles and overrides (same effect) get settings:read beside it."""
    url: str = request.getfixturevalue(f"{backend}_url")
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.downgrade(config, "base")
    command.upgrade(config, "0018")
    engine = create_engine(url)
    now = "'2026-01-01 00:00:00'"
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO tenants (id, name, whatsapp_number, twilio_account_sid, "
                "twilio_auth_token_encrypted, sandbox, primary_language, currency, timezone, "
                "status, tier, business_hours, features, created_at) VALUES ('shop', 'Shop', "
                f"'+254700000001', 'AC1', 'x', true, 'en', 'KES', 'Africa/Nairobi', 'active', "
                f"'starter', '{{}}', '{{}}', {now})"))
            connection.execute(text(
                "INSERT INTO users (id, email, password_hash, is_operator, failed_logins, "
                f"created_at) VALUES (1, 'a@example.com', 'h', false, 0, {now}), "
                f"(2, 'b@example.com', 'h', false, 0, {now})"))
            connection.execute(text(
                "INSERT INTO api_keys (id, tenant_id, prefix, key_hash, created_at, scopes) "
                f"VALUES (1, 'shop', 'k1', 'h1', {now}, '[\"analytics:read\", \"catalog:read\"]'),"
                f" (2, 'shop', 'k2', 'h2', {now}, '[\"catalog:write\"]')"))
            connection.execute(text(
                "INSERT INTO tenant_roles (id, tenant_id, name, scopes, created_at) VALUES "
                f"(1, 'shop', 'auditor', '[\"analytics:read\"]', {now})"))
            connection.execute(text(
                "INSERT INTO personal_access_tokens (id, user_id, tenant_id, name, prefix, "
                "token_hash, scopes, created_at) VALUES "
                f"(1, 1, 'shop', 't', 'p1', 'th1', '[\"analytics:read\"]', {now}), "
                f"(2, 1, 'shop', 't', 'p2', 'th2', NULL, {now})"))
            connection.execute(text(
                "INSERT INTO scope_overrides (tenant_id, user_id, scope, effect) VALUES "
                "('shop', 1, 'analytics:read', 'allow'), ('shop', 2, 'analytics:read', 'deny')"))
        command.upgrade(config, "head")

        def scopes(table: str) -> dict[int, Any]:
            with engine.connect() as connection:
                rows = connection.execute(text(f"SELECT id, scopes FROM {table} ORDER BY id"))
                return {row_id: value if value is None or isinstance(value, list)
                        else json.loads(value) for row_id, value in rows}

        assert scopes("api_keys") == {1: ["analytics:read", "catalog:read", "settings:read"],
                                      2: ["catalog:write"]}
        assert scopes("tenant_roles") == {1: ["analytics:read", "settings:read"]}
        assert scopes("personal_access_tokens") == {1: ["analytics:read", "settings:read"],
                                                    2: None}
        with engine.connect() as connection:
            overrides = connection.execute(text(
                "SELECT user_id, scope, effect FROM scope_overrides ORDER BY user_id, scope"))
            assert [tuple(row) for row in overrides] == [
                (1, "analytics:read", "allow"), (1, "settings:read", "allow"),
                (2, "analytics:read", "deny"), (2, "settings:read", "deny")]
        command.downgrade(config, "0018")
        assert scopes("api_keys")[1] == ["analytics:read", "catalog:read"]
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT count(*) FROM scope_overrides WHERE scope = 'settings:read'")).scalar() \
                == 0
        command.upgrade(config, "head")
        with engine.begin() as connection:  # leave the database empty for the other tests
            for table in ("scope_overrides", "personal_access_tokens", "tenant_roles",
                          "api_keys", "users", "tenants"):
                connection.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
