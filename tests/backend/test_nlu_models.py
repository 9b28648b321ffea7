"""The NLU model registry: the promotion gate (a table of figures → pass or fail with reasons),
the figures read from `make eval`'s result, and the registry's states through the operator's
API (build → training → evaluating → ready/rejected/failed, promote, rollback, a refused swap
put back) with the trainer and evaluator injected (nothing trains here) and the swap sent to a
stand-in rasa over HTTP (PUT /model). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from backend.domain.nlu_gate import MAX_FALSE_ACTION, check_gate, figures_from_evaluation
from backend.models import NluModel
from backend.providers import haproxy
from backend.services.conversations import nlu_models
from backend.services.conversations.nlu_models import TrainJob, data_hash
from tests.backend.conftest import free_port, service_headers
from tests.backend.rasa_fake import FakeRasa

REPO = Path(__file__).resolve().parents[2]
MODELS = "/v1/platform/nlu/models"
GOOD = {"en": 0.96, "sw": 0.965, "sheng": 0.966}


def figures(heldout: dict[str, float], false_action: dict[str, float]) -> dict[str, Any]:
    return {"heldout": heldout, "false_action": false_action}


BASE = figures({"en": 96.0, "sw": 96.5}, {"clinc150 en": 0.6, "massive sw": 1.0})


@pytest.mark.parametrize("candidate, baseline, passed, failing", [
    (figures({"en": 96.0, "sw": 96.5}, {"clinc150 en": 0.6, "massive sw": 1.0}), BASE, True, []),
    (figures({"en": 95.5, "sw": 97.0}, {"clinc150 en": 0.6, "massive sw": 0.9}), BASE, True, []),
    (figures({"en": 95.4, "sw": 99.0}, {"clinc150 en": 0.6, "massive sw": 0.9}), BASE, False,
     ["held-out en: 95.4 % vs 96.0 % promoted, 0.6 points lost"]),
    (figures({"en": 97.0, "sw": 97.0}, {"clinc150 en": 1.01, "massive sw": 0.2}), BASE, False,
     ["false actions clinc150 en: 1.01 %"]),
    (figures({"en": 90.0, "sw": 90.0}, {"clinc150 en": 2.0, "massive sw": 0.2}), BASE, False,
     ["held-out en", "held-out sw", "false actions clinc150 en"]),
    (figures({"en": 97.0}, {"clinc150 en": 0.5}), BASE, False,
     ["held-out sw: measured for the promoted model, not for this one"]),
    (figures({"en": 80.0}, {"clinc150 en": 0.5}), None, True, []),  # nothing promoted yet
    (figures({}, {}), None, False, ["no held-out accuracy", "no out-of-scope false-action"]),
])
def test_the_gate(candidate: dict[str, Any], baseline: dict[str, Any] | None, passed: bool,
                  failing: list[str]) -> None:
    result = check_gate(candidate, baseline)
    assert result.passed is passed
    failed = [r for r in result.reasons if not passed][:len(failing)]
    for expected, reason in zip(failing, failed):
        assert reason.startswith(expected), (expected, result.reasons)
    assert len(result.reasons) >= len(candidate["heldout"]) + len(candidate["false_action"])


def test_figures_from_make_evals_result() -> None:
    """The committed result of `make eval` (eval/results/nlu.json) read as a card's figures; a
    model against itself loses nothing, so it passes exactly when its own false actions are
    within the bar (the committed figures are a measurement, not a fixture)."""
    result = json.loads((REPO / "eval" / "results" / "nlu.json").read_text("utf-8"))
    found = figures_from_evaluation(result)
    assert set(found["heldout"]) == {"en", "sw", "sheng"}
    assert 90.0 < found["heldout"]["en"] <= 100.0
    assert "clinc150 en" in found["false_action"] and "massive sw" in found["false_action"]
    assert not any(name.startswith(("heldout", "independent")) for name in found["false_action"])
    within = all(rate <= MAX_FALSE_ACTION for rate in found["false_action"].values())
    assert check_gate(found, found).passed is within


def test_the_data_hash_is_train_shs() -> None:
    """The same digest as scripts/train.sh's pipeline (find | sort -z | sha256sum | sha256sum)."""
    pipeline = ("find data bot/components config.yml domain -type f \\( -name '*.yml' -o -name "
                "'*.py' \\) -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum "
                "| sha256sum | cut -d' ' -f1")
    expected = subprocess.run(["bash", "-c", pipeline], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
    assert data_hash(REPO / "data", REPO / "config.yml") == expected


# ------------------------------------------------------------------ the registry's states

def fake_result(heldout: dict[str, float], false_action: float) -> dict[str, Any]:
    """An evaluation result shaped as eval_nlu.py writes it."""
    return {"sets": {
        "heldout": {"by_language": {lang: {"accuracy": acc, "n_in_scope": 100, "n_oos": 10,
                                           "false_action_rate": 0.0}
                                    for lang, acc in heldout.items()}},
        "clinc150": {"by_language": {"en": {"accuracy": 0.9, "n_in_scope": 10, "n_oos": 500,
                                            "false_action_rate": false_action}}},
    }, "timing": {"sentences": 900}}


class Lab:
    """The injected trainer and evaluator: the 'model file' holds the figures it will score."""

    def __init__(self) -> None:
        self.next: dict[str, Any] = {"heldout": GOOD, "false_action": 0.005}
        self.trained: list[TrainJob] = []
        self.evaluated: list[Path] = []
        self.fail: str | None = None

    def train(self, job: TrainJob, progress: Callable[[str], None]) -> Path:
        self.trained.append(job)
        if self.fail:
            raise RuntimeError(self.fail)
        for epoch in (1, 2):
            progress(f"training, part 1: epoch {epoch}/2")
        out = job.out_dir / f"{job.name}.tar.gz"
        out.write_text(json.dumps(self.next))
        return out

    def evaluate(self, model: Path, data: Path, limit: int) -> dict[str, Any]:
        self.evaluated.append(model)
        spec = json.loads(model.read_text())
        return fake_result(spec["heldout"], spec["false_action"])


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lab:
    lab = Lab()
    served = tmp_path / "served" / "assistant.tar.gz"
    served.parent.mkdir()
    served.write_text(json.dumps({"heldout": GOOD, "false_action": 0.006}))
    (served.parent / ".inputs.sha256").write_text("f" * 64 + "\n")
    monkeypatch.setattr(nlu_models, "TRAINER", lab.train)
    monkeypatch.setattr(nlu_models, "EVALUATOR", lab.evaluate)
    monkeypatch.setattr(nlu_models, "SERVED_MODEL", served)
    return lab


@pytest.fixture
def rasas() -> Iterator[list[FakeRasa]]:
    servers = [FakeRasa().start(), FakeRasa().start()]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def registry(make_app: Callable[..., Flask], tmp_path: Path, rasas: list[FakeRasa],
             lab: Lab) -> Flask:
    review = tmp_path / "review"
    (review / "sw").mkdir(parents=True)
    (review / "sw" / "review.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - habari ya jioni rafiki\n')
    return make_app(nlu_models_dir=str(tmp_path / "registry"), nlu_review_dir=str(review),
                    nlu_rasa_urls=tuple(r.url for r in rasas), rasa_token="rasa-secret",
                    nlu_eval_limit=25)


def _build(app: Flask) -> dict[str, Any]:
    client = app.test_client()
    started = client.post(MODELS, json={"note": "week 49"}, headers=service_headers())
    assert started.status_code == 202, started.get_json()
    assert started.get_json()["status"] == "candidate"
    app.extensions["backend"].jobs.drain(timeout=30)
    card = client.get(f"{MODELS}/{started.get_json()['id']}", headers=service_headers())
    assert card.status_code == 200
    return card.get_json()


def _promote(app: Flask, model_id: int | None) -> Any:
    client = app.test_client()
    path = f"{MODELS}/{model_id}/promote" if model_id else f"{MODELS}/rollback"
    answer = client.post(path, headers=service_headers())
    app.extensions["backend"].jobs.drain(timeout=30)
    return answer


def test_build_gate_promote_and_roll_back(registry: Flask, lab: Lab,
                                          rasas: list[FakeRasa]) -> None:
    client = registry.test_client()
    first = _build(registry)
    assert first["status"] == "ready" and first["promotable"], first
    assert first["gate"]["passed"] and first["gate"]["baseline_id"] is not None
    assert any(r.startswith("held-out en: 96.0 % vs 96.0 % promoted") for r in
               first["gate"]["reasons"])
    assert first["figures"]["heldout"] == {"en": 96.0, "sheng": 96.6, "sw": 96.5}
    assert first["figures"]["limit"] == 25 and first["progress"] is None
    assert first["built_by"] == "service" and len(first["data_hash"]) == 64
    assert first["note"] == "week 49"
    # It trained on data/ with the reviewed messages laid over it.
    staged = lab.trained[0].data
    assert (staged / "nlu" / "sw" / "review.yml").read_text().count("habari ya jioni") == 1
    assert (staged / "nlu" / "en" / "basics.yml").is_file()
    # The served model was registered as the promoted one, evaluated once.
    listed = client.get(MODELS, headers=service_headers()).get_json()["results"]
    assert [m["status"] for m in listed] == ["ready", "promoted"]
    served = listed[1]
    assert served["built_by"] == "system" and served["data_hash"] == "f" * 64
    assert served["figures"]["false_action"] == {"clinc150 en": 0.6}

    answer = _promote(registry, first["id"])
    assert answer.status_code == 202 and answer.get_json()["progress"] == "promoting: queued"
    for rasa in rasas:
        put = [r for r in rasa.requests if r.method == "PUT"]
        assert [(r.raw_path, r.body, r.query["token"]) for r in put] == [
            ("/model", {"model_file": first["file_path"]}, ["rasa-secret"])]
    listed = client.get(MODELS, headers=service_headers()).get_json()["results"]
    assert [m["status"] for m in listed] == ["promoted", "retired"]
    assert listed[0]["promoted_by"] == "service" and listed[0]["promoted_at"]
    # A rasa server started later starts on it (scripts/stack.sh reads the pointer).
    pointer = Path(registry.extensions["backend"].settings.nlu_models_dir) / "promoted"
    assert pointer.read_text().strip() == first["file_path"]
    started_on = subprocess.run(
        ["scripts/stack.sh", "served-model"], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "NLU_MODELS_DIR": str(pointer.parent),
             "VAR_DIR": str(pointer.parent / "var")})
    if not (REPO / "models" / "assistant.tar.gz").exists() or \
            pointer.stat().st_mtime > (REPO / "models" / "assistant.tar.gz").stat().st_mtime:
        assert started_on.stdout.strip() == first["file_path"], started_on.stderr

    # A worse candidate is rejected, with the reason, and cannot be promoted.
    lab.next = {"heldout": {**GOOD, "sw": 0.955}, "false_action": 0.02}
    worse = _build(registry)
    assert worse["status"] == "rejected" and not worse["promotable"]
    assert worse["gate"]["baseline_id"] == first["id"]
    failed = [r for r in worse["gate"]["reasons"][:2]]
    assert failed[0].startswith("held-out sw: 95.5 % vs 96.5 % promoted, 1.0 points lost")
    assert failed[1].startswith("false actions clinc150 en: 2.00 %")
    refused = _promote(registry, worse["id"])
    assert refused.status_code == 409 and refused.get_json()["code"]
    # One promotion at a time; one whose job died past its limit no longer blocks.
    ctx = registry.extensions["backend"]
    with ctx.db.transaction() as session:
        row = session.get(NluModel, served["id"])
        row.progress, row.promotion_requested_at = "promoting: queued", datetime.now(UTC)
    busy = client.post(f"{MODELS}/rollback", headers=service_headers())
    assert busy.status_code == 409 and "being promoted" in busy.get_json()["description"]
    with ctx.db.transaction() as session:
        session.get(NluModel, served["id"]).promotion_requested_at = (
            datetime.now(UTC) - timedelta(hours=2))
    # The promoted model's figures were cached (its sha256 evaluated once).
    assert lab.evaluated.count(Path(first["file_path"])) == 1

    # Roll back: the model before is promoted again, in one call.
    back = _promote(registry, None)
    assert back.status_code == 202 and back.get_json()["id"] == served["id"]
    assert [r.body for r in rasas[1].requests if r.method == "PUT"][-1] == {
        "model_file": served["file_path"]}
    states = {m["id"]: m["status"] for m in
              client.get(MODELS, headers=service_headers()).get_json()["results"]}
    assert states == {served["id"]: "promoted", first["id"]: "retired",
                      worse["id"]: "rejected"}
    assert pointer.read_text().strip() == served["file_path"]
    # …and forward again: the one rolled back from is the rollback target now.
    assert _promote(registry, None).get_json()["id"] == first["id"]


def test_a_refused_swap_is_put_back_and_reported(registry: Flask,
                                                 rasas: list[FakeRasa]) -> None:
    first = _build(registry)
    rasas[1].replies.append((500, {"message": "cannot load"}))
    _promote(registry, first["id"])
    card = registry.test_client().get(f"{MODELS}/{first['id']}",
                                      headers=service_headers()).get_json()
    assert card["status"] == "ready" and card["progress"] is None
    assert "promotion failed on 2 of 2" in card["error"] and "restored 1" in card["error"]
    bodies = [r.body["model_file"] for r in rasas[0].requests if r.method == "PUT"]
    assert bodies[0] == first["file_path"] and bodies[1].endswith("assistant.tar.gz")


def test_a_failed_training_and_one_build_at_a_time(registry: Flask, lab: Lab) -> None:
    lab.fail = "rasa train failed (exit 1): out of memory"
    card = _build(registry)
    assert card["status"] == "failed" and "out of memory" in card["error"]
    assert card["finished_at"] and not card["promotable"]
    assert _promote(registry, card["id"]).status_code == 409
    # While one is being built another is refused.
    registry.extensions["backend"].jobs.enqueue = lambda *args: None  # keep it queued
    client = registry.test_client()
    assert client.post(MODELS, json={}, headers=service_headers()).status_code == 202
    again = client.post(MODELS, json={}, headers=service_headers())
    assert again.status_code == 409 and "still being built" in again.get_json()["description"]
    assert client.post(f"{MODELS}/rollback", headers=service_headers()).status_code == 409
    # A build whose job died (past the job's time limit) no longer blocks the next one.
    ctx = registry.extensions["backend"]
    with ctx.db.transaction() as session:
        for row in session.scalars(select(NluModel).where(NluModel.status == "candidate")):
            row.created_at = datetime.now(UTC) - timedelta(hours=5)
    assert client.post(MODELS, json={}, headers=service_headers()).status_code == 202
    with ctx.db.transaction() as session:
        states = sorted(r.status for r in session.scalars(select(NluModel)))
        assert states == ["candidate", "failed", "failed"]
    assert client.get(f"{MODELS}/999999", headers=service_headers()).status_code == 404


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_replicas_behind_haproxy_are_drained_one_at_a_time(
        make_app: Callable[..., Flask], tmp_path: Path, rasas: list[FakeRasa], lab: Lab,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real HAProxy (the production profile's admin socket) in front of two stand-in rasa
    replicas: while a replica loads the model it is drained (no new turn reaches it), the other
    stays up, and it is put back (UP) before the next one is swapped."""
    sock = tmp_path / "haproxy.sock"
    front = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        f"global\n    stats socket {sock} mode 600 level admin\n"
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n"
        "    timeout server 30s\n    timeout check 5s\n"
        "    default-server inter 200ms fastinter 100ms fall 3 rise 1\n"
        f"frontend rasa_in\n    bind 127.0.0.1:{front}\n    default_backend rasa\n"
        "backend rasa\n    balance roundrobin\n    option httpchk GET /webhooks/whatsapp/\n"
        + "".join(f"    server rasa-{i} 127.0.0.1:{r.port} check\n"
                  for i, r in enumerate(rasas, 1)))
    process = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() or not all(
                haproxy.server_stats(str(sock), "rasa", f"rasa-{i}")["status"] == "UP"
                for i in (1, 2)):
            assert time.monotonic() < deadline, "haproxy did not come up"
            time.sleep(0.1)
        seen: list[tuple[str, str, str]] = []

        def swapper(url: str, token: str, model_file: str, timeout: float) -> None:
            # The administrative state (what the swap sets), not the health checks' verdict: a
            # check that times out on a loaded machine would say DOWN for an undrained server.
            states = tuple("DRAIN" if haproxy.admin_state(str(sock), "rasa", f"rasa-{i}")
                           & haproxy.DRAIN_FLAGS else "READY" for i in (1, 2))
            seen.append((url, *states))
            nlu_models.put_model(url, token, model_file, timeout)

        monkeypatch.setattr(nlu_models, "SWAPPER", swapper)
        app = make_app(nlu_models_dir=str(tmp_path / "registry"), nlu_eval_limit=5,
                       nlu_rasa_urls=tuple(f"rasa/rasa-{i}={r.url}"
                                           for i, r in enumerate(rasas, 1)),
                       nlu_haproxy_socket=str(sock), rasa_token="rasa-secret")
        first = _build(app)
        assert _promote(app, first["id"]).status_code == 202
        card = app.test_client().get(f"{MODELS}/{first['id']}", headers=service_headers())
        assert card.get_json()["status"] == "promoted", card.get_json()
        assert seen == [(rasas[0].url, "DRAIN", "READY"), (rasas[1].url, "READY", "DRAIN")]
        for i in (1, 2):
            assert haproxy.admin_state(str(sock), "rasa", f"rasa-{i}") == 0
            assert haproxy.wait_up(str(sock), "rasa", f"rasa-{i}", 10)
        assert all(any(r.method == "PUT" for r in rasa.requests) for rasa in rasas)

        # The stack scripts' command line over the same socket (rolling restart, make reload).
        cli = ["--socket", str(sock)]
        assert haproxy.main(cli + ["drain", "rasa", "rasa-2", "--idle", "10"]) == 0
        assert haproxy.admin_state(str(sock), "rasa", "rasa-2") & haproxy.DRAIN_FLAGS
        assert haproxy.main(cli + ["ready", "rasa", "rasa-2", "--up", "10"]) == 0
        assert haproxy.admin_state(str(sock), "rasa", "rasa-2") == 0
        assert haproxy.main(cli + ["all-up"]) == 0
        assert haproxy.main(cli + ["drain", "rasa", "rasa-9"]) == 1  # no such server
    finally:
        process.terminate()
        process.wait(timeout=10)
