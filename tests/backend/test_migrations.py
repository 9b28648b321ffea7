"""The Alembic migrations build exactly the models' schema, and go down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

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
