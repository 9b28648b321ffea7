"""Database engine and the transaction scope every use case runs in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pii.files import private_file

SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
# How long a write that must land (what an external call did) waits out a database restart.
OUTLAST_SECONDS = 60.0

log = logging.getLogger(__name__)
T = TypeVar("T")


def outlasting_restarts(work: Callable[[], T], what: str, seconds: float = OUTLAST_SECONDS) -> T:
    """Run `work` (one whole transaction) again while the database cannot be reached (a restart,
    a failover, a dropped connection) for up to `seconds`, then raise. For a write that must land
    because something outside already happened, such as the outcome of a call to Twilio; only in
    jobs and background senders, never in a request or a conversation turn."""
    deadline = time.monotonic() + seconds
    wait = 0.2
    while True:
        try:
            return work()
        except OperationalError as error:
            if time.monotonic() + wait > deadline:
                raise
            log.warning("%s: database unreachable, again in %.1f s: %s", what, wait,
                        str(error).splitlines()[0])
            time.sleep(wait)
            wait = min(wait * 2, 2.0)


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file (e.g. var/) so the first connect works, and
    the file itself owner-only (0600: it holds customers' data; SQLite's journals follow it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_file(path)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine with per-backend connection settings (no connection is opened here)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    connect_args = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    if backend != "postgresql":
        connect_args = {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


class Database:
    """One engine and a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        ensure_sqlite_directory(url)
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Run a real query; raises when the database cannot answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
