"""Starts the real stack (its own redis-server, backend, RQ worker, scheduler, action server, rasa with
the trained model) on spare ports with its own state directory, as `make up` does (every process
supervised), seeds the demo shop, and stops it all afterwards: no process of it may be left."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from _webhook import build_form, read_env_file, sign  # noqa: E402

DEMO_NUMBER = "+254700000001"
DEMO_TOKEN = "demo-twilio-auth-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Drives the running stack the way Twilio and a WhatsApp customer do."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        secrets = read_env_file(Path(env["VAR_DIR"]) / "secrets.env")
        self.service_token = secrets["SERVICE_TOKEN"]
        self.webhook = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/whatsapp/webhook"
        self.backend = f"http://127.0.0.1:{env['BACKEND_PORT']}"
        self.run_dir = Path(env["VAR_DIR"]) / "run"
        self.redis_url = read_env_file(self.run_dir / "stack.env")["REDIS_URL"]

    def post(self, phone: str, body: str, sid: str = None, token: str = DEMO_TOKEN,
             to: str = DEMO_NUMBER, **extra: str) -> requests.Response:
        form = build_form(phone, to, body, "Mteja", "AC" + "0" * 32, sid)
        form.update(extra)
        return requests.post(self.webhook, data=form, timeout=60,
                             headers={"X-Twilio-Signature": sign(self.webhook, form, token)})

    def recorded(self, phone: str, after: int = 0) -> List[dict]:
        r = requests.get(f"{self.backend}/v1/sandbox/messages", params={"to": phone, "after": after},
                         headers={"Authorization": f"Bearer {self.service_token}"}, timeout=10)
        r.raise_for_status()
        return r.json()["results"]

    def last_id(self, phone: str) -> int:
        results = self.recorded(phone)
        return results[-1]["id"] if results else 0

    def replies(self, phone: str, after: int, quiet: float = 0.5, timeout: float = 20) -> List[str]:
        """Bodies recorded for `phone` after id `after`, once no new one came for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        seen: List[dict] = []
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            found = self.recorded(phone, after)
            if len(found) != len(seen):
                seen, last_change = found, time.monotonic()
            elif seen and time.monotonic() - last_change >= quiet:
                break
            time.sleep(0.05)
        return [m["body"] for m in seen]

    def say(self, phone: str, body: str, to: str = DEMO_NUMBER,
            token: str = DEMO_TOKEN) -> List[str]:
        after = self.last_id(phone)
        response = self.post(phone, body, to=to, token=token)
        assert response.status_code == 200, response.text
        return self.replies(phone, after)


def new_phone() -> str:
    return "+2547" + str(uuid.uuid4().int)[:8]


def group_alive(pgid: int) -> bool:
    """Some process of the group (a supervisor and what it started) still runs."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed: run the end-to-end tests through `make test`")
    var_dir = tmp_path_factory.mktemp("stack")
    # No REDIS_URL: the stack starts and supervises its own redis-server, as `make up` does, so
    # that the fault-injection tests can kill it.
    env = {**os.environ, "VAR_DIR": str(var_dir), "BACKEND_PORT": str(free_port()),
           "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()),
           "REDIS_PORT": str(free_port()), "BACKEND_WORKERS": "2"}
    for key in ("DATABASE_URL", "BACKEND_URL", "ACTION_SERVER_URL", "RASA_URL", "REDIS_URL",
                "TWILIO_SANDBOX_API_URL", "RASA_TRACKER_DB", "ACTIONS_HOST"):
        env.pop(key, None)
    seed = "source scripts/env.sh && .venv/bin/python -m backend.migrate && .venv/bin/python -m backend.seed"
    subprocess.run(["bash", "-c", seed], cwd=ROOT, env=env, check=True, timeout=300)
    try:
        subprocess.run(["scripts/stack.sh", "up"], cwd=ROOT, env=env, check=True, timeout=600)
        yield Stack(env)
    finally:
        groups = [int(p.read_text()) for p in (var_dir / "run").glob("*.pid")]
        subprocess.run(["scripts/stack.sh", "down"], cwd=ROOT, env=env, timeout=180)
        left = [pgid for pgid in groups if group_alive(pgid)]
        for pgid in left:
            os.killpg(pgid, signal.SIGKILL)
        assert groups, "`stack.sh up` recorded no process"
        assert not left, f"`stack.sh down` left process groups behind: {left}"
