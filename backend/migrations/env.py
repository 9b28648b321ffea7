"""Alembic environment: migrates sqlalchemy.url when set, else DATABASE_URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from backend.db import ensure_sqlite_directory, make_engine
from backend.models import Base
from backend.sandbox import models as sandbox_models  # noqa: F401  (the simulators' tables)
from backend.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    ensure_sqlite_directory(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch ALTER on SQLite copies the table, drops the old one and renames the
                # copy; with foreign keys enforced, dropping `tenants` would first delete every
                # row that cascades from it (customers, orders...). Off for the migration (it
                # must be set outside a transaction), checked afterwards.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,  # lets later ALTERs work on SQLite
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if broken:
                    raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
