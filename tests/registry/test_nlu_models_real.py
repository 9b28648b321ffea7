"""The NLU model registry for real (SQLite only; slow: about two minutes to train on two busy
cores, one to swap):

- a candidate is built by the real job path: `rasa train` (.venv-rasa) with a tiny config
  (tests/fixtures/nlu_tiny_config.yml: two DIET epochs, no TED) on the real data, its progress
  read from rasa's epoch bars, then scored by `make eval`'s evaluator (scripts/eval_nlu.py) on a
  small subset (NLU_EVAL_LIMIT=5 sentences per set and language) and gated;
- a real `rasa run --enable-api` server answers /model/parse turns sent continuously from a
  thread while PUT /model swaps the served model (the tiny one, another file, then back): every
  turn is answered 200, none dropped (they wait while it loads);
- two real replicas behind a real HAProxy, turns through it, the promotion job drains each while
  it loads: every turn answered 200, none as slow as a model load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from backend.migrate import upgrade
from backend.models import NluModel
from backend.providers import haproxy
from backend.services.conversations import nlu_models
from backend.services.conversations.nlu_models import (
    RASA,
    TrainJob,
    build_model,
    file_sha256,
    put_model,
    rasa_train,
)
from backend.settings import REPO_ROOT
from backend.wiring import Context, build_context
from tests.backend.conftest import free_port, make_settings

TINY_CONFIG = REPO_ROOT / "tests" / "fixtures" / "nlu_tiny_config.yml"
TOKEN = "swap-test-token"

pytestmark = pytest.mark.skipif(not RASA.exists(), reason=".venv-rasa is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, int, list[str]]]:
    """One candidate built with the real trainer and evaluator (nothing promoted to compare)."""
    folder = tmp_path_factory.mktemp("registry")
    url = f"sqlite:///{folder / 'backend.db'}"
    upgrade(url)
    ctx = build_context(make_settings(url, nlu_models_dir=str(folder / "models"),
                                      nlu_train_config=str(TINY_CONFIG), nlu_eval_limit=5))
    seen: list[str] = []

    def spying(job: TrainJob, progress: Callable[[str], None]) -> Path:
        def both(text: str) -> None:
            seen.append(text)
            progress(text)
        return rasa_train(job, both)

    patch = pytest.MonkeyPatch()
    patch.setattr(nlu_models, "TRAINER", spying)
    patch.setattr(nlu_models, "SERVED_MODEL", folder / "none.tar.gz")
    with ctx.db.transaction() as session:
        row = NluModel(status="candidate", built_by="test", created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        model_id = row.id
    try:
        build_model(ctx, model_id)
        yield ctx, model_id, seen
    finally:
        patch.undo()
        ctx.db.dispose()


def test_a_tiny_model_is_trained_evaluated_and_gated(
        built: tuple[Context, int, list[str]]) -> None:
    ctx, model_id, seen = built
    card = nlu_models.get_model(ctx, model_id)
    assert card.status in ("ready", "rejected"), card.error
    assert card.file_path and Path(card.file_path).is_file()
    assert card.sha256 == file_sha256(Path(card.file_path)) and len(card.data_hash or "") == 64
    assert "training, part 1: epoch 2/2" in seen and card.progress is None
    figures = card.figures or {}
    assert set(figures["heldout"]) == {"en", "sw", "sheng"} and figures["limit"] == 5
    assert all(0.0 <= v <= 100.0 for v in figures["heldout"].values())
    assert figures["false_action"], figures  # public sets' out-of-scope sentences scored
    gate = card.gate or {}
    assert gate["baseline_id"] is None and gate["passed"] is (card.status == "ready")
    assert any("no promoted figure to compare" in r for r in gate["reasons"])


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text("utf-8", "replace")[-1500:]
            raise AssertionError(f"rasa run exited with {process.returncode}: {tail}")
        try:
            if requests.get(f"{url}/status", params={"token": TOKEN}, timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError(f"rasa did not come up at {url} in {seconds} s")


class Rasa:
    """`rasa run --enable-api` on a free port with this model: the REST channel only, no action
    server, no telemetry."""

    def __init__(self, folder: Path, model: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        endpoints = folder / "endpoints.yml"
        endpoints.write_text(f"action_endpoint:\n  url: http://127.0.0.1:{free_port()}/webhook\n")
        credentials = folder / "credentials.yml"
        credentials.write_text("rest:\n")
        self.log_path = folder / "rasa.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(RASA), "run", "--enable-api", f"--auth-token={TOKEN}", "--interface",
             "127.0.0.1", "--port", str(self.port), "--endpoints", str(endpoints),
             "--credentials", str(credentials), "--model", model],
            cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT),
                                "RASA_TELEMETRY_ENABLED": "false"},
            stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self, seconds: float = 240) -> Rasa:
        _wait_ready(self.url, self.process, seconds, self.log_path)
        return self

    def served(self) -> str:
        return str(requests.get(f"{self.url}/status", params={"token": TOKEN},
                                timeout=10).json()["model_file"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Talker:
    """Sends /model/parse turns one after another from a thread; every answer's status and time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[int, float]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._talk, daemon=True)

    def _talk(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            started = time.monotonic()
            try:
                reply = requests.post(f"{self.url}/model/parse", params={"token": TOKEN},
                                      json={"text": f"nataka kununua viatu {number}"},
                                      timeout=600)
                self.answers.append((reply.status_code, time.monotonic() - started))
                if reply.status_code != 200 or "intent" not in reply.json():
                    self.failures.append(f"{reply.status_code}: {reply.text[:200]}")
            except requests.RequestException as error:
                self.failures.append(str(error))
            time.sleep(0.05)

    def start(self) -> Talker:
        self._thread.start()
        return self

    def more(self, count: int, seconds: float = 120) -> None:
        """Wait for `count` more answers."""
        target, deadline = len(self.answers) + count, time.monotonic() + seconds
        while len(self.answers) < target:
            assert time.monotonic() < deadline, f"no answers: {self.failures[-3:]}"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=610)


def test_turns_are_answered_while_the_model_is_swapped(
        built: tuple[Context, int, list[str]], tmp_path: Path) -> None:
    """One server: the tiny model, then another file (a copy: rasa loads it all the same), then
    back. Models are tiny so that this suite needs no trained assistant and runs beside the
    training in `make test`; with the full assistant a lone server's turns wait about a minute
    while it loads (measured: 61.7 s on two busy cores), which is why production swaps replicas
    one at a time behind HAProxy (the next test)."""
    ctx, model_id, _ = built
    tiny = nlu_models.get_model(ctx, model_id).file_path
    assert tiny
    other = tmp_path / "other.tar.gz"
    shutil.copyfile(tiny, other)
    rasa = Rasa(tmp_path, tiny)
    talker = Talker(rasa.url)
    try:
        rasa.ready()
        talker.start().more(5)
        started = time.monotonic()
        put_model(rasa.url, TOKEN, str(other), 600)
        load_s = time.monotonic() - started
        assert rasa.served() == other.name  # /status names the file only
        talker.more(5)
        put_model(rasa.url, TOKEN, tiny, 600)
        assert rasa.served() == Path(tiny).name
        talker.more(5)
    finally:
        talker.stop()
        rasa.stop()
    assert not talker.failures, talker.failures[:5]
    assert len(talker.answers) >= 15 and all(code == 200 for code, _ in talker.answers)
    slowest = max(seconds for _, seconds in talker.answers)
    print(f"\nswap, one server: {len(talker.answers)} turns, all 200; loading the other model "
          f"took {load_s:.1f} s and the slowest turn {slowest:.1f} s (rasa loads a model on its "
          "event loop: a lone server's turns wait, none is dropped)")


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_behind_haproxy_no_turn_waits_for_a_swap(
        built: tuple[Context, int, list[str]], tmp_path: Path) -> None:
    """Two real replicas behind a real HAProxy, turns through it; the promotion job drains each
    replica while it loads the model: every turn is answered, none as slowly as a load."""
    ctx, model_id, _ = built
    tiny = nlu_models.get_model(ctx, model_id).file_path
    assert tiny
    start_file = tmp_path / "start.tar.gz"  # the replicas start on a copy, then swap to `tiny`
    shutil.copyfile(tiny, start_file)
    replicas = [Rasa(tmp_path / f"rasa-{i}", str(start_file)) for i in (1, 2)]
    sock, front = tmp_path / "haproxy.sock", free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        f"global\n    stats socket {sock} mode 600 level admin\n"
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 600s\n"
        "    timeout server 600s\n    retries 2\n    option redispatch 1\n"
        "    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2\n"
        f"frontend rasa_in\n    bind 127.0.0.1:{front}\n    default_backend rasa\n"
        "backend rasa\n    balance roundrobin\n    option httpchk GET /\n"
        + "".join(f"    server rasa-{i} 127.0.0.1:{r.port} check\n"
                  for i, r in enumerate(replicas, 1)))
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    loads: list[float] = []

    def timed(url: str, token: str, model_file: str, timeout: float) -> None:
        started = time.monotonic()
        put_model(url, token, model_file, timeout)
        loads.append(time.monotonic() - started)

    talker = Talker(f"http://127.0.0.1:{front}")
    promoting = build_context(replace(
        ctx.settings, nlu_haproxy_socket=str(sock), rasa_token=TOKEN,
        nlu_rasa_urls=tuple(f"rasa/rasa-{i}={r.url}" for i, r in enumerate(replicas, 1))))
    try:
        for replica in replicas:
            replica.ready()
        deadline = time.monotonic() + 30
        while not all(haproxy.server_stats(str(sock), "rasa", f"rasa-{i}")["status"] == "UP"
                      for i in (1, 2)):
            assert time.monotonic() < deadline, "haproxy does not see both replicas up"
            time.sleep(0.2)
        talker.start().more(10)
        card = nlu_models.promote_model(promoting, model_id, "test", swapper=timed)
        assert card.status == "promoted" and card.error is None, card.error
        assert [r.served() for r in replicas] == [Path(tiny).name] * 2
        talker.more(10)
    finally:
        talker.stop()
        proxy.terminate()
        proxy.wait(timeout=10)
        for replica in replicas:
            replica.stop()
        promoting.db.dispose()
    assert not talker.failures, talker.failures[:5]
    assert all(code == 200 for code, _ in talker.answers)
    slowest = max(seconds for _, seconds in talker.answers)
    print(f"\nswap behind HAProxy: {len(talker.answers)} turns, all 200; loads took "
          f"{', '.join(f'{s:.1f}' for s in loads)} s, the slowest turn {slowest:.2f} s")
    assert len(loads) == 2 and slowest < min(loads), (slowest, loads)
