"""The NLU model registry for real (SQLite only; slow: about two minutes to train on two busy
cores, one to swap):

- a candidate is built by the real job path: `rasa train` (.venv-rasa) with a tiny config
  (tests/fixtures/nlu_tiny_config.yml: two DIET epochs, no TED) on the real data, its progress
  read from rasa's epoch bars, then scored by `make eval`'s evaluator (scripts/eval_nlu.py) on a
  small subset (NLU_EVAL_LIMIT=5 sentences per set and language) and gated;
- a real `rasa run --enable-api` server answers /model/parse turns sent continuously from a
  thread while PUT /model swaps the served model (the tiny one, then models/assistant.tar.gz,
  then back): every turn is answered 200, none dropped.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from backend.migrate import upgrade
from backend.models import NluModel
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
SERVED = REPO_ROOT / "models" / "assistant.tar.gz"
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


def test_turns_are_answered_while_the_model_is_swapped(
        built: tuple[Context, int, list[str]], tmp_path: Path) -> None:
    ctx, model_id, _ = built
    tiny = nlu_models.get_model(ctx, model_id).file_path
    assert tiny and SERVED.is_file()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    endpoints = tmp_path / "endpoints.yml"  # no action server, no tracker store: turns only
    credentials = tmp_path / "credentials.yml"  # the REST channel only (no WhatsApp settings)
    credentials.write_text("rest:\n")
    endpoints.write_text(f"action_endpoint:\n  url: http://127.0.0.1:{free_port()}/webhook\n")
    log = (tmp_path / "rasa.log").open("wb")
    process = subprocess.Popen(
        [str(RASA), "run", "--enable-api", f"--auth-token={TOKEN}", "--interface", "127.0.0.1",
         "--port", str(port), "--endpoints", str(endpoints), "--credentials", str(credentials), "--model", tiny],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT),
                            "RASA_TELEMETRY_ENABLED": "false"}, stdout=log,
        stderr=subprocess.STDOUT)
    answers: list[tuple[int, float]] = []
    failures: list[str] = []
    stop = threading.Event()

    def talk() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            started = time.monotonic()
            try:
                reply = requests.post(f"{url}/model/parse", params={"token": TOKEN},
                                      json={"text": f"nataka kununua viatu {number}"},
                                      timeout=300)
                answers.append((reply.status_code, time.monotonic() - started))
                if reply.status_code != 200 or "intent" not in reply.json():
                    failures.append(f"{reply.status_code}: {reply.text[:200]}")
            except requests.RequestException as error:
                failures.append(str(error))
            time.sleep(0.05)

    try:
        _wait_ready(url, process, 180, tmp_path / "rasa.log")
        talker = threading.Thread(target=talk, daemon=True)
        talker.start()
        while len(answers) < 5:
            time.sleep(0.1)
        put_model(url, TOKEN, str(SERVED), 300)
        status = requests.get(f"{url}/status", params={"token": TOKEN}, timeout=10).json()
        assert status["model_file"] == SERVED.name  # /status names the file only
        swapped = len(answers)
        while len(answers) < swapped + 5:
            time.sleep(0.1)
        put_model(url, TOKEN, tiny, 300)
        status = requests.get(f"{url}/status", params={"token": TOKEN}, timeout=10).json()
        assert status["model_file"] == Path(tiny).name
        settled = len(answers)
        while len(answers) < settled + 5:
            time.sleep(0.1)
        stop.set()
        talker.join(timeout=310)
    finally:
        stop.set()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    assert not failures, failures[:5]
    assert len(answers) >= 15 and all(code == 200 for code, _ in answers)
    slowest = max(seconds for _, seconds in answers)
    print(f"\nswap test: {len(answers)} turns, all 200; slowest answer {slowest:.1f} s "
          "(rasa loads the new model on its event loop: turns wait, none is dropped)")
