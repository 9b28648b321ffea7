"""The production profile on this machine: `scripts/stack.sh up` with PROFILE=prod and REPLICAS=2 (its
own PostgreSQL and Redis with passwords, two rasa and two action servers behind HAProxy, gunicorn,
two RQ workers), on ports from PROD_TEST_PORT_BASE (default 27800), seeded with the demo shop, and
stopped afterwards: no process of it may be left.

PROD_STACK_VAR_DIR=<dir> (with the same ports) reuses a stack already up there instead (a faster
loop while working on the tests); it is left running.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from tests.e2e.conftest import group_alive

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from _webhook import read_env_file  # noqa: E402

PORT_BASE = int(os.environ.get("PROD_TEST_PORT_BASE", "27800"))
REPLICAS = 2


def ports() -> Dict[str, str]:
    return {"BACKEND_PORT": str(PORT_BASE), "RASA_PORT": str(PORT_BASE + 5),
            "RASA_REPLICA_PORT": str(PORT_BASE + 10), "PG_PORT": str(PORT_BASE + 32),
            "ACTIONS_PORT": str(PORT_BASE + 55), "ACTIONS_REPLICA_PORT": str(PORT_BASE + 60),
            "REDIS_PORT": str(PORT_BASE + 79)}


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ProdStack:
    env: Dict[str, str]
    var_dir: Path

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def secrets(self) -> Dict[str, str]:
        return read_env_file(self.var_dir / "secrets.env")

    @property
    def webhook(self) -> str:  # the load balancer: what Twilio posts to
        return f"http://127.0.0.1:{self.env['RASA_PORT']}/webhooks/whatsapp/webhook"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def backend(self) -> str:
        return f"http://127.0.0.1:{self.env['BACKEND_PORT']}"

    def dsn(self, database: str) -> str:
        return (f"postgresql://assistant:{self.secrets['POSTGRES_PASSWORD']}@127.0.0.1:"
                f"{self.env['PG_PORT']}/{database}")

    def child(self, name: str) -> int:
        return int((self.run_dir / f"{name}.child").read_text())

    def haproxy_stat(self) -> List[Dict[str, str]]:
        """HAProxy's `show stat` over its owner-only admin socket."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.run_dir / "haproxy.sock"))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        return [dict(zip(header, line.split(","))) for line in lines[1:] if line]

    def server(self, name: str) -> Dict[str, str]:
        return next(row for row in self.haproxy_stat() if row["svname"] == name)


@pytest.fixture(scope="session")
def prod_stack() -> Iterator[ProdStack]:
    reuse = os.environ.get("PROD_STACK_VAR_DIR")
    base = {**os.environ, **ports(), "PROFILE": "prod", "REPLICAS": str(REPLICAS),
            "BACKEND_WORKERS": "2",
            # Shorter than production's: a conversation's lock left by the killed replica and a
            # MessageSid claimed by it free up sooner, so the test stays short.
            "TICKET_LOCK_LIFETIME": "10", "WHATSAPP_PENDING_SECONDS": "15",
            # A reply whose queued delivery was lost with Redis is re-sent by the outbox sweep
            # (every 30 s) once it has waited this long (production: 60 s).
            "OUTBOX_STALE_SECONDS": "15"}
    for key in ("DATABASE_URL", "BACKEND_URL", "ACTION_SERVER_URL", "RASA_URL", "REDIS_URL",
                "TWILIO_SANDBOX_API_URL", "RASA_TRACKER_DB", "ACTIONS_HOST", "WHATSAPP_PUBLIC_URL",
                "LOCAL_PG", "LOCAL_REDIS", "PGDATA_DIR", "TRACKER_DB_HOST", "TRACKER_DB_PORT",
                "TRACKER_DB_PASSWORD", "REDIS_HOST", "REDIS_PASSWORD", "POSTGRES_PASSWORD"):
        base.pop(key, None)
    if reuse:
        yield ProdStack({**base, "VAR_DIR": reuse}, Path(reuse))
        return
    for name, port in ports().items():
        if name != "RASA_REPLICA_PORT" and name != "ACTIONS_REPLICA_PORT" and port_taken(int(port)):
            pytest.fail(f"port {port} ({name}) is taken: set PROD_TEST_PORT_BASE")
    var_dir = Path(tempfile.mkdtemp(prefix="wa-prod-stack-"))
    # PostgreSQL's cluster: as root it belongs to the postgres user, outside the owner-only VAR_DIR.
    pg_dir = Path(tempfile.mkdtemp(prefix="wa-prod-pg-"))
    if os.geteuid() == 0:
        shutil.chown(pg_dir, "postgres")
    env = {**base, "VAR_DIR": str(var_dir), "PGDATA_DIR": str(pg_dir)}
    started = time.monotonic()
    up = subprocess.Popen(["scripts/stack.sh", "up"], cwd=ROOT, env=env)
    try:
        # The demo shop is seeded as soon as the backend has migrated the database, while the
        # rasa replicas load the model.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and up.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{env['BACKEND_PORT']}/v1/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        seed = "source scripts/env.sh && .venv/bin/python -m backend.seed"
        subprocess.run(["bash", "-c", seed], cwd=ROOT, env=env, check=True, timeout=600)
        assert up.wait(timeout=900) == 0, "`stack.sh up` (PROFILE=prod) failed"
        print(f"\nproduction profile up and seeded in {time.monotonic() - started:.0f} s")
        yield ProdStack(env, var_dir)
    finally:
        if up.poll() is None:
            up.terminate()
            up.wait(timeout=30)
        groups = [int(p.read_text()) for p in (var_dir / "run").glob("*.pid")]
        subprocess.run(["scripts/stack.sh", "down"], cwd=ROOT, env=env, timeout=300)
        left = [pgid for pgid in groups if group_alive(pgid)]
        for pgid in left:
            os.killpg(pgid, signal.SIGKILL)
        shutil.rmtree(pg_dir, ignore_errors=True)
        # The processes' logs stay for a look (PROD_TEST_LOGS, default a temporary folder).
        logs = Path(os.environ.get("PROD_TEST_LOGS") or tempfile.mkdtemp(prefix="wa-prod-logs-"))
        shutil.copytree(var_dir / "log", logs, dirs_exist_ok=True)
        print(f"production profile logs: {logs}")
        shutil.rmtree(var_dir, ignore_errors=True)
        assert groups, "`stack.sh up` recorded no process"
        assert not left, f"`stack.sh down` left process groups behind: {left}"
