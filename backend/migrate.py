"""`python -m backend.migrate`: upgrade the database at DATABASE_URL to the latest schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from backend.settings import REPO_ROOT, Settings

ALEMBIC_INI = REPO_ROOT / "alembic.ini"


def alembic_config(database_url: str, ini_path: Path = ALEMBIC_INI) -> Config:
    config = Config(str(ini_path))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    upgrade(Settings.from_env().database_url)


if __name__ == "__main__":
    main()
