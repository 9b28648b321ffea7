"""`python -m backend.migrate`: upgrade the database at DATABASE_URL to the latest schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.settings import REPO_ROOT, Settings

ALEMBIC_INI = REPO_ROOT / "alembic.ini"


def alembic_config(database_url: str, ini_path: Path = ALEMBIC_INI) -> Config:
    config = Config(str(ini_path))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on the server of `server_url`, migrated, dropped afterwards
    (benches and the test suite)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    upgrade(Settings.from_env().database_url)


if __name__ == "__main__":
    main()
