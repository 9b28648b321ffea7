"""`make up` on a partly running stack (issue 13 item 3): it starts only what is missing, and a
process that does not come up is reported without stopping the others (before, a failed wait
called stop_all and took the whole stack down)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Dict

import requests

from tests.e2e.conftest import ROOT, group_alive, new_phone

NAMES = ("redis", "backend", "worker", "scheduler", "actions", "rasa")


def pids(stack) -> Dict[str, tuple]:
    def read(name: str, kind: str) -> int:
        return int((stack.run_dir / f"{name}.{kind}").read_text())
    return {name: (read(name, "pid"), read(name, "child")) for name in NAMES}


def kill_group(pgid: int) -> None:
    os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_alive(pgid)


def up(stack, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/stack.sh", "up"], cwd=ROOT, env={**stack.env, **env},
                          capture_output=True, text=True, timeout=300)


def test_up_starts_only_what_is_missing_and_a_failure_stops_nothing(stack):
    before = pids(stack)
    kill_group(before["actions"][0])  # the action server and its supervisor are gone

    # It cannot start (no such interface): reported after its third exit, nothing else touched.
    failed = up(stack, ACTIONS_HOST="256.0.0.1")
    assert failed.returncode != 0, failed.stdout
    assert "actions did not become healthy" in failed.stderr
    assert "stopped" not in failed.stdout
    during = pids(stack)
    for name in NAMES:
        if name != "actions":
            assert during[name] == before[name], name
    assert requests.get(f"{stack.backend}/v1/health", timeout=5).ok

    kill_group(during["actions"][0])
    fixed = up(stack)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    after = pids(stack)
    for name in NAMES:
        if name != "actions":
            assert after[name] == before[name], name
    assert after["actions"][0] not in (before["actions"][0], during["actions"][0])
    assert stack.say(new_phone(), "hi")
