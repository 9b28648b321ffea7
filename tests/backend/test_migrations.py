"""The Alembic migrations build exactly the models' schema, and go down and up again."""

from __future__ import annotations

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
