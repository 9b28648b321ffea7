"""The NLU model registry: the review loop's second half. A candidate model is trained in a job
from the training data plus the reviewed messages (the candidate writer's <language>/review.yml
files in NLU_REVIEW_DIR), its progress stored on its row for the page to poll; then it and the
promoted model are scored by `make eval`'s evaluator (scripts/eval_nlu.py, run with .venv-rasa;
figures cached per model file sha256) and the gate (backend/domain/nlu_gate.py) decides whether
it may be promoted. Promotion (a job) swaps the model into every rasa server through Rasa's
HTTP API (PUT /model), one after the other; the model it replaces is kept (retired) and
rolling back promotes it again.

The model is the platform's (every tenant talks to it): no tenant_id, platform audit records.
The trainer, the evaluator and the swapper are parameters, so tests choose them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.nlu_gate import check_gate, figures_from_evaluation
from backend.models import NluModel
from backend.providers import haproxy
from backend.providers.rasa import RasaClient, RasaError
from backend.queueing.names import BUILD_NLU_MODEL, PROMOTE_NLU_MODEL
from backend.services.platform.audit import current_actor, record_platform_audit
from backend.settings import REPO_ROOT
from backend.wiring import Context

log = logging.getLogger(__name__)

CANDIDATE, TRAINING, EVALUATING, FAILED = "candidate", "training", "evaluating", "failed"
READY, REJECTED, PROMOTED, RETIRED = "ready", "rejected", "promoted", "retired"
STATUSES = (CANDIDATE, TRAINING, EVALUATING, FAILED, READY, REJECTED, PROMOTED, RETIRED)
BUILDING = (CANDIDATE, TRAINING, EVALUATING)
PROMOTING = "promoting"  # the progress text's start while a promotion job runs
SYSTEM = "system"
RASA = REPO_ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = REPO_ROOT / ".venv-rasa" / "bin" / "python"
SERVED_MODEL = REPO_ROOT / "models" / "assistant.tar.gz"
REVIEW_FILE = "review.yml"
POINTER = "promoted"
# What scripts/train.sh hashes (besides the data folder): the NLU components, config, domain.
HASHED = (("bot/components", (".yml", ".py")), ("domain", (".yml", ".py")))
EPOCHS = re.compile(r"Epochs:\s+\d+%.*?\|\s*(\d+)/(\d+)")


@dataclass(frozen=True)
class ModelView:
    id: int
    status: str
    file_path: str | None
    sha256: str | None
    data_hash: str | None
    note: str | None
    progress: str | None
    error: str | None
    figures: dict[str, Any] | None
    gate: dict[str, Any] | None
    built_by: str
    created_at: datetime
    finished_at: datetime | None
    promoted_by: str | None
    promoted_at: datetime | None

    @property
    def promotable(self) -> bool:
        return self.status == READY and bool((self.gate or {}).get("passed"))

    @property
    def promoting(self) -> bool:
        return (self.progress or "").startswith(PROMOTING)


@dataclass(frozen=True)
class TrainJob:
    config: Path
    domain: Path
    data: Path
    out_dir: Path
    name: str  # the model file is <out_dir>/<name>.tar.gz


Progress = Callable[[str], None]
Trainer = Callable[[TrainJob, Progress], Path]
Evaluator = Callable[[Path, Path, int], dict[str, Any]]  # model, data dir, limit → nlu.json
Swapper = Callable[[str, str, str, float], None]  # url, token, model file, timeout


def _view(row: NluModel) -> ModelView:
    return ModelView(row.id, row.status, row.file_path, row.sha256, row.data_hash, row.note,
                     row.progress, row.error, row.figures, row.gate, row.built_by,
                     row.created_at, row.finished_at, row.promoted_by, row.promoted_at)


# ------------------------------------------------------------------ hashes and files

def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_hash(data_dir: Path, config: Path, root: Path = REPO_ROOT) -> str:
    """The training inputs' hash as scripts/train.sh computes it (sha256sum of every data,
    bot/components, config and domain .yml/.py file, sorted by path, hashed again), with
    `data_dir` read as data/ and `config` as config.yml."""
    files: list[tuple[str, Path]] = []
    for path in data_dir.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".py") and "__pycache__" not in path.parts:
            files.append(("data/" + path.relative_to(data_dir).as_posix(), path))
    for folder, suffixes in HASHED:
        for path in (root / folder).rglob("*"):
            if path.is_file() and path.suffix in suffixes and "__pycache__" not in path.parts:
                files.append((path.relative_to(root).as_posix(), path))
    files.append(("config.yml", config))
    lines = "".join(f"{file_sha256(path)}  {name}\n"
                    for name, path in sorted(files, key=lambda item: item[0].encode()))
    return hashlib.sha256(lines.encode()).hexdigest()


def models_dir(ctx: Context) -> Path:
    return Path(ctx.settings.nlu_models_dir or REPO_ROOT / "models" / "registry")


def train_config(ctx: Context) -> Path:
    return Path(ctx.settings.nlu_train_config or REPO_ROOT / "config.yml")


def rasa_urls(ctx: Context) -> tuple[str, ...]:
    """The rasa servers' URLs (NLU_RASA_URLS, else RASA_URL), HAProxy names left out."""
    return tuple(url for url, _ in rasa_targets(ctx))


def rasa_targets(ctx: Context) -> list[tuple[str, str | None]]:
    """(url, HAProxy backend/server or None) of each rasa server: NLU_RASA_URLS entries are a
    URL or backend/server=URL (a replica behind the production profile's HAProxy)."""
    targets: list[tuple[str, str | None]] = []
    for entry in ctx.settings.nlu_rasa_urls or (ctx.settings.rasa_url,):
        name, equals, url = entry.partition("=")
        if equals and "/" in name and "://" not in name:
            targets.append((url.strip().rstrip("/"), name.strip()))
        else:
            targets.append((entry.strip().rstrip("/"), None))
    return targets


def swap_one(ctx: Context, url: str, server: str | None, model_file: str,
             swapper: Swapper) -> None:
    """One server's swap; a replica behind HAProxy (NLU_HAPROXY_SOCKET) is drained first (no new
    turn reaches it, those in flight finish), and put back once loaded and seen healthy."""
    socket_path = ctx.settings.nlu_haproxy_socket
    timeout = ctx.settings.nlu_swap_timeout_seconds
    if not (socket_path and server):
        swapper(url, ctx.settings.rasa_token, model_file, timeout)
        return
    backend, _, name = server.partition("/")
    haproxy.set_state(socket_path, backend, name, "drain")
    try:
        if not haproxy.wait_idle(socket_path, backend, name, 30):
            log.warning("%s still had requests in flight after 30 s; swapping anyway", server)
        swapper(url, ctx.settings.rasa_token, model_file, timeout)
    finally:
        haproxy.set_state(socket_path, backend, name, "ready")
    if not haproxy.wait_up(socket_path, backend, name, 60):
        raise RasaError(f"{server} is not healthy again after its swap")


def stage_data(ctx: Context, target: Path, source: Path = REPO_ROOT / "data") -> Path:
    """The candidate's training data: data/ as it is, with each language's reviewed messages
    (NLU_REVIEW_DIR/<language>/review.yml, the candidate writer's files) laid over it."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.md"))
    folder = ctx.settings.nlu_review_dir
    if folder and Path(folder).is_dir():
        for review in sorted(Path(folder).glob(f"*/{REVIEW_FILE}")):
            language = review.parent.name
            if (target / "nlu" / language).is_dir():
                shutil.copyfile(review, target / "nlu" / language / REVIEW_FILE)
    return target


# ------------------------------------------------------------------ the real trainer, evaluator, swapper

def rasa_train(job: TrainJob, progress: Progress) -> Path:
    """`rasa train` (the .venv-rasa binary, as scripts/train.sh runs it); progress from its
    epoch bars ("training 2: epoch 12/100" for the second trained component)."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    command = [str(RASA), "train", "--fixed-model-name", job.name, "--out", str(job.out_dir),
               "--config", str(job.config), "--domain", str(job.domain), "--data", str(job.data)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    tail: list[str] = []
    stage, last_done, last = 0, -1, ""
    with subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        buffer = b""
        while chunk := process.stdout.read1(4096):  # type: ignore[attr-defined]
            buffer += chunk
            *pieces, buffer = re.split(rb"[\r\n]", buffer)
            for raw in pieces:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                tail = (tail + [line])[-30:]
                match = EPOCHS.search(line)
                if not match:
                    continue
                done, total = int(match.group(1)), int(match.group(2))
                if done < last_done or last_done < 0:
                    stage += 1  # the next component's bar (DIET, then TED …)
                last_done = done
                text = f"training, part {stage}: epoch {done}/{total}"
                if text != last:
                    progress(text)
                    last = text
        code = process.wait()
    out = job.out_dir / f"{job.name}.tar.gz"
    if code != 0 or not out.is_file():
        raise RuntimeError(f"rasa train failed (exit {code}): " + " | ".join(tail[-8:]))
    return out


def eval_nlu(model: Path, data: Path, limit: int) -> dict[str, Any]:
    """`make eval`'s evaluator (scripts/eval_nlu.py, .venv-rasa) on this model: every set, at
    most `limit` sentences per set and language (0: all), the overlap check against `data`;
    returns its nlu.json."""
    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as out:
        command = [str(RASA_PYTHON), str(REPO_ROOT / "scripts" / "eval_nlu.py"),
                   "--model", str(model), "--data", str(data), "--out", out,
                   "--limit", str(limit), "--latency-samples", "0", "--sets", ""]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "EVAL_STRICT": "0"}
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1) or not (Path(out) / "nlu.json").is_file():
            raise RuntimeError(f"make eval's evaluator failed (exit {done.returncode}): "
                               + done.stderr.strip()[-1500:])
        result: dict[str, Any] = json.loads((Path(out) / "nlu.json").read_text("utf-8"))
        return result


def put_model(url: str, token: str, model_file: str, timeout: float) -> None:
    RasaClient(url, token, timeout=timeout).load_model(model_file)


# ------------------------------------------------------------------ the registry

def list_models(ctx: Context, limit: int = 50) -> list[ModelView]:
    with ctx.db.transaction() as session:
        rows = session.scalars(select(NluModel).order_by(NluModel.created_at.desc(),
                                                        NluModel.id.desc()).limit(limit))
        return [_view(row) for row in rows]


def get_model(ctx: Context, model_id: int) -> ModelView:
    with ctx.db.transaction() as session:
        row = session.get(NluModel, model_id)
        if row is None:
            raise NotFound("No such model")
        return _view(row)


def promoted_model(ctx: Context) -> ModelView | None:
    with ctx.db.transaction() as session:
        row = session.scalar(select(NluModel).where(NluModel.status == PROMOTED)
                             .order_by(NluModel.promoted_at.desc()).limit(1))
        return _view(row) if row is not None else None


def rollback_target(ctx: Context) -> ModelView | None:
    """The model promoted before the current one (the one a rollback promotes again)."""
    with ctx.db.transaction() as session:
        row = session.scalar(select(NluModel).where(NluModel.status == RETIRED,
                                                    NluModel.promoted_at.is_not(None))
                             .order_by(NluModel.promoted_at.desc(), NluModel.id.desc()).limit(1))
        return _view(row) if row is not None else None


def register_served(ctx: Context, served: Path | None = None,
                    stamp: Path | None = None) -> ModelView | None:
    """With nothing promoted yet: the model the servers run (models/assistant.tar.gz, trained
    by `make train`) becomes the registry's promoted model, its data hash train.sh's stamp."""
    served = served or SERVED_MODEL
    stamp = stamp or served.parent / ".inputs.sha256"
    current = promoted_model(ctx)
    if current is not None or not served.is_file():
        return current
    digest = file_sha256(served)
    with ctx.db.transaction() as session:
        if session.scalar(select(NluModel.id).where(NluModel.status == PROMOTED)) is not None:
            return None  # registered meanwhile
        now = datetime.now(UTC)
        row = NluModel(status=PROMOTED, file_path=str(served), sha256=digest,
                       data_hash=stamp.read_text().strip() if stamp.is_file() else None,
                       note="the model served when the registry started (make train)",
                       built_by=SYSTEM, created_at=datetime.fromtimestamp(
                           served.stat().st_mtime, UTC), finished_at=now,
                       promoted_by=SYSTEM, promoted_at=now)
        session.add(row)
        session.flush()
        return _view(row)


def start_build(ctx: Context, note: str | None = None) -> ModelView:
    """A new candidate, trained and evaluated by a job; one build at a time."""
    note = (note or "").strip()[:500] or None
    actor = current_actor()
    with ctx.db.transaction() as session:
        # A build whose job ended without a word (a worker killed) past the job's time limit.
        limit = datetime.now(UTC) - timedelta(seconds=BUILD_NLU_MODEL.timeout or 3600)
        for stale in session.scalars(select(NluModel).where(NluModel.status.in_(BUILDING),
                                                            NluModel.created_at < limit)):
            stale.status, stale.progress = FAILED, None
            stale.error = "abandoned: its job ended without a result"
        busy = session.scalar(select(NluModel.id).where(NluModel.status.in_(BUILDING),
                                                        NluModel.created_at >= limit).limit(1))
        if busy is not None:
            raise Conflict(f"Model {busy} is still being built")
        row = NluModel(status=CANDIDATE, built_by=actor, note=note, progress="queued",
                       created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        record_platform_audit(session, "nlu_models.build", ("nlu_model", row.id), None,
                              {"note": note})
        view = _view(row)
    ctx.jobs.enqueue(BUILD_NLU_MODEL, view.id)
    return view


def _update(ctx: Context, model_id: int, **values: Any) -> None:
    with ctx.db.transaction() as session:
        row = session.get(NluModel, model_id)
        if row is None:
            raise NotFound("No such model")
        for name, value in values.items():
            setattr(row, name, value)


def _figures(ctx: Context, model: Path, sha256: str, data: Path, limit: int,
             evaluator: Evaluator) -> dict[str, Any]:
    """Evaluation figures of this model file: cached on any row of the same sha256 scored on
    the same subset; else measured (and stored on those rows)."""
    with ctx.db.transaction() as session:
        for row in session.scalars(select(NluModel).where(NluModel.sha256 == sha256)):
            if row.figures and row.figures.get("limit") == limit:
                return dict(row.figures)
    figures = {**figures_from_evaluation(evaluator(model, data, limit)), "limit": limit,
               "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    with ctx.db.transaction() as session:
        for row in session.scalars(select(NluModel).where(NluModel.sha256 == sha256)):
            row.figures = figures
    return figures


def build_model(ctx: Context, model_id: int, trainer: Trainer | None = None,
                evaluator: Evaluator | None = None) -> ModelView:
    """The job: stage the data, train (progress on the row), evaluate the candidate and the
    promoted model, gate. Any failure leaves the row `failed` with the reason."""
    trainer = trainer or TRAINER
    evaluator = evaluator or EVALUATOR
    with ctx.db.transaction() as session:
        row = session.get(NluModel, model_id)
        if row is None:
            raise NotFound("No such model")
        if row.status != CANDIDATE:
            return _view(row)  # built already (a retried job)
        row.status, row.progress = TRAINING, "preparing the data"
    folder = models_dir(ctx) / f"model-{model_id}"
    try:
        config = train_config(ctx)
        data = stage_data(ctx, folder / "data")
        digest = data_hash(data, config)
        _update(ctx, model_id, data_dir=str(data), data_hash=digest, progress="training")

        def progress(text: str) -> None:
            _update(ctx, model_id, progress=text[:200])

        path = trainer(TrainJob(config, REPO_ROOT / "domain", data, folder,
                                f"model-{model_id}"), progress)
        sha = file_sha256(path)
        _update(ctx, model_id, status=EVALUATING, file_path=str(path), sha256=sha,
                progress="evaluating the candidate")
        limit = ctx.settings.nlu_eval_limit
        figures = _figures(ctx, path, sha, data, limit, evaluator)
        baseline = register_served(ctx)
        base_figures = None
        if baseline is not None and baseline.file_path and baseline.sha256:
            _update(ctx, model_id, progress=f"evaluating the promoted model ({baseline.id})")
            base_figures = _figures(ctx, Path(baseline.file_path), baseline.sha256, data,
                                    limit, evaluator)
        result = check_gate(figures, base_figures)
        gate = result.as_dict(baseline.id if baseline else None)
        _update(ctx, model_id, status=READY if result.passed else REJECTED, figures=figures,
                gate=gate, progress=None, finished_at=datetime.now(UTC))
    except Exception as error:  # noqa: BLE001 — the reason goes on the card
        log.exception("building NLU model %s failed", model_id)
        _update(ctx, model_id, status=FAILED, progress=None, error=str(error)[:4000],
                finished_at=datetime.now(UTC))
    return get_model(ctx, model_id)


# ------------------------------------------------------------------ promotion and rollback

def request_promotion(ctx: Context, model_id: int) -> ModelView:
    """Queue the swap of a model whose gate passed (ready) into every rasa server."""
    return _request(ctx, model_id, rollback=False)


def request_rollback(ctx: Context) -> ModelView:
    """Queue the swap back to the model promoted before the current one."""
    target = rollback_target(ctx)
    if target is None:
        raise Conflict("No earlier promoted model to roll back to")
    return _request(ctx, target.id, rollback=True)


def _request(ctx: Context, model_id: int, rollback: bool) -> ModelView:
    actor = current_actor()
    with ctx.db.transaction() as session:
        row = session.get(NluModel, model_id)
        if row is None:
            raise NotFound("No such model")
        limit = datetime.now(UTC) - timedelta(seconds=PROMOTE_NLU_MODEL.timeout or 3600)
        busy = None
        for other in session.scalars(select(NluModel).where(
                NluModel.progress.like(f"{PROMOTING}%"))):
            if other.promotion_requested_at is not None and other.promotion_requested_at < limit:
                other.progress = None  # its job ended without a result
                other.error = "promotion abandoned: its job ended without a result"
            else:
                busy = other.id
        if busy is not None:
            raise Conflict(f"Model {busy} is being promoted")
        if rollback:
            if row.status != RETIRED or row.promoted_at is None or not row.file_path:
                raise Conflict("Only a model promoted before can be rolled back to")
        elif row.status != READY or not (row.gate or {}).get("passed"):
            raise Conflict("Only a model whose gate passed can be promoted",
                           {"status": [row.status]})
        if not row.file_path or not Path(row.file_path).is_file():
            raise InvalidInput(f"The model file is gone: {row.file_path}")
        row.progress = f"{PROMOTING}: queued"
        row.promotion_requested_at = datetime.now(UTC)
        record_platform_audit(session, "nlu_models.rollback" if rollback else
                              "nlu_models.promote", ("nlu_model", row.id), None,
                              {"file": row.file_path, "sha256": row.sha256})
        view = _view(row)
    ctx.jobs.enqueue(PROMOTE_NLU_MODEL, model_id, actor)
    return view


def promote_model(ctx: Context, model_id: int, actor: str,
                  swapper: Swapper | None = None) -> ModelView:
    """The job: PUT /model on each rasa server in turn (each keeps answering on the model it
    has until the new one is loaded); then this model is the promoted one and the one before
    retired. A server that refuses stops it: those already swapped get the previous model back
    and the promotion is reported failed on the card."""
    swapper = swapper or SWAPPER
    model = get_model(ctx, model_id)
    previous = promoted_model(ctx)
    done: list[tuple[str, str | None]] = []
    targets = rasa_targets(ctx)
    try:
        if not model.file_path:
            raise RasaError("the model has no file")
        for number, (url, server) in enumerate(targets, 1):
            _update(ctx, model_id, progress=f"{PROMOTING}: server {number} of {len(targets)}")
            swap_one(ctx, url, server, model.file_path, swapper)
            done.append((url, server))
    except (RasaError, OSError, haproxy.HaproxyError) as error:
        restored = []
        if previous is not None and previous.file_path:
            for url, server in done:
                try:
                    swap_one(ctx, url, server, previous.file_path, swapper)
                    restored.append(url)
                except (RasaError, OSError, haproxy.HaproxyError):
                    log.exception("restoring model %s on %s failed", previous.id, url)
        _update(ctx, model_id, progress=None,
                error=f"promotion failed on {len(done) + 1} of {len(targets)}: {error}"
                      f"{'; restored ' + str(len(restored)) if done else ''}"[:4000])
        return get_model(ctx, model_id)
    now = datetime.now(UTC)
    with ctx.db.transaction() as session:
        for row in session.scalars(select(NluModel).where(NluModel.status == PROMOTED,
                                                          NluModel.id != model_id)):
            row.status = RETIRED
        row = session.get(NluModel, model_id)
        assert row is not None
        row.status, row.promoted_by, row.promoted_at = PROMOTED, actor, now
        row.progress, row.error = None, None
        path = row.file_path
        record_platform_audit(session, "nlu_models.promoted", ("nlu_model", row.id),
                              {"model": previous.id if previous else None},
                              {"model": row.id, "servers": len(targets)}, actor=actor)
    if path:
        write_pointer(ctx, path)
    return get_model(ctx, model_id)


def write_pointer(ctx: Context, path: str) -> None:
    """<NLU_MODELS_DIR>/promoted: the promoted model's file, for a rasa server (re)started later
    (scripts/stack.sh starts rasa on it when it is newer than models/assistant.tar.gz)."""
    folder = models_dir(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{POINTER}.tmp"
    partial.write_text(path + "\n", encoding="utf-8")
    partial.replace(folder / POINTER)


# The defaults the jobs use (tests replace them).
TRAINER: Trainer = rasa_train
EVALUATOR: Evaluator = eval_nlu
SWAPPER: Swapper = put_model

__all__ = [
    "BUILDING", "CANDIDATE", "EVALUATING", "FAILED", "PROMOTED", "READY", "REJECTED",
    "RETIRED", "STATUSES", "TRAINING", "ModelView", "TrainJob", "build_model", "data_hash",
    "eval_nlu", "get_model", "list_models", "promote_model", "promoted_model", "put_model",
    "rasa_targets", "rasa_train", "rasa_urls", "register_served", "request_promotion", "request_rollback",
    "rollback_target", "stage_data", "start_build",
]
