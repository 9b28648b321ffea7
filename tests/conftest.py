"""Shared by every suite: when pytest-xdist runs a suite in several processes (`-n 2`), each
process gets its own Redis database and knowledge-base index folder, so one process's queue or
index is never read by the other. PostgreSQL needs nothing: each process makes its own scratch
databases (random names), and SQLite files live in each process's own temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

# Databases that single tests claim for themselves (flushed before and after): never a worker's.
_CLAIMED_REDIS_DATABASES = {6, 7, 8, 11}


def _worker_number() -> int | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … under xdist
    return int(worker[2:]) if worker.startswith("gw") else None


def _redis_database(worker: int) -> int:
    free = [n for n in range(16) if n not in _CLAIMED_REDIS_DATABASES]
    if worker >= len(free):
        raise RuntimeError(f"at most {len(free)} xdist workers: Redis has 16 databases")
    return free[worker]


def _isolate_worker() -> None:
    worker = _worker_number()
    if worker is None:
        return
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        os.environ["TEST_REDIS_URL"] = f"{redis_url.rsplit('/', 1)[0]}/{_redis_database(worker)}"
    index_dir = os.environ.get("KB_INDEX_DIR")
    if index_dir:
        own = Path(index_dir) / f"worker-{worker}"
        own.mkdir(parents=True, exist_ok=True)
        os.environ["KB_INDEX_DIR"] = str(own)


_isolate_worker()
