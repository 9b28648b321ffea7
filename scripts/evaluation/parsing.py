"""Parses sentences with the trained model in-process, as `rasa run` serves them (needs .venv-rasa).

`parse_batch` feeds many messages through the model's NLU graph in one run (the same components,
FallbackClassifier included; only the per-call overhead is shared); `time_single_parses` times
the processor's own `parse_message` one sentence at a time and checks it agrees with the batch.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

# Before TensorFlow is imported: quiet logs, and no more threads than the two cores we have.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "2")
os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")

from evaluation.scoring import NLU_FALLBACK, Prediction  # noqa: E402

LANGUAGE_ENTITY = "language"


_LIBRARY_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _ignore_library_warnings() -> None:
    """Drop deprecation notices of rasa's libraries; loading the model resets the warning filters,
    so the display function filters as well."""
    for category in _LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", category=category)
    show = warnings.showwarning
    if getattr(show, "_quiet", False):
        return

    def quiet_show(message, category, *args, **kwargs):
        if not issubclass(category, _LIBRARY_WARNINGS):
            show(message, category, *args, **kwargs)

    quiet_show._quiet = True  # type: ignore[attr-defined]
    warnings.showwarning = quiet_show


def quiet_logs() -> None:
    """Rasa logs every parse at debug level through structlog, and its libraries warn about their
    own deprecations: keep our warnings and errors only."""
    _ignore_library_warnings()
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    _ignore_library_warnings()
    for name in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Parser:
    """A loaded model: batch parsing, single timed parses, and what the model is."""

    def __init__(self, model_path: Path):
        quiet_logs()
        from rasa.core.agent import Agent

        started = time.perf_counter()
        self.model_path = model_path
        self.agent = Agent.load(str(model_path))
        self.load_s = time.perf_counter() - started
        self.processor = self.agent.processor
        if self.processor is None:
            raise RuntimeError(f"{model_path}: no model could be loaded")
        self.loop = asyncio.new_event_loop()

    # ------------------------------------------------------------ model facts

    def fallback_config(self) -> dict[str, Any]:
        """threshold and ambiguity_threshold of the model's FallbackClassifier, and the action
        threshold and intents of bot.components.action_guard's subclass (None when absent)."""
        from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

        for node in self.processor.model_metadata.predict_schema.nodes.values():
            if isinstance(node.uses, type) and issubclass(node.uses, FallbackClassifier):
                return {"threshold": node.config.get("threshold"),
                        "ambiguity_threshold": node.config.get("ambiguity_threshold"),
                        # bot.components.action_guard: the stricter bar for action intents
                        "action_threshold": node.config.get("action_threshold"),
                        "action_intents": node.config.get("action_intents")}
        return {"threshold": None, "ambiguity_threshold": None, "action_threshold": None, "action_intents": None}

    def describe(self) -> dict[str, Any]:
        metadata = self.processor.model_metadata
        return {
            "path": str(self.model_path),
            "sha256": file_sha256(self.model_path),
            "size_bytes": self.model_path.stat().st_size,
            "model_id": metadata.model_id,
            "trained_at": metadata.trained_at.isoformat(),
            "rasa_version": metadata.rasa_open_source_version,
            "assistant_id": metadata.assistant_id,
            "fallback": self.fallback_config(),
            "load_s": round(self.load_s, 2),
        }

    # ------------------------------------------------------------ parsing

    def parse_batch(self, texts: Sequence[str], batch_size: int = 64) -> list[dict]:
        """Parse data (as /model/parse returns it) for every text, `batch_size` per graph run."""
        from rasa.core.channels.channel import UserMessage
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.shared.core.trackers import DialogueStateTracker

        target = self.processor.model_metadata.nlu_target
        tracker = DialogueStateTracker.from_events("nlu-eval", [])
        results: list[dict] = []
        for start in range(0, len(texts), batch_size):
            messages = [UserMessage(text, sender_id="nlu-eval") for text in texts[start:start + batch_size]]
            outputs = self.processor.graph_runner.run(
                inputs={PLACEHOLDER_MESSAGE: messages, PLACEHOLDER_TRACKER: tracker}, targets=[target])
            for parsed in outputs[target]:
                data = {"text": "", "intent": {"name": None, "confidence": 0.0}, "entities": []}
                data.update(parsed.as_dict(only_output_properties=True))
                self.processor._update_full_retrieval_intent(data)
                results.append(data)
        if len(results) != len(texts):
            raise RuntimeError(f"parsed {len(results)} messages for {len(texts)} texts")
        return results

    def parse_one(self, text: str) -> dict:
        """The processor's own parse of one message, as the HTTP API does it."""
        from rasa.core.channels.channel import UserMessage

        return self.loop.run_until_complete(self.processor.parse_message(UserMessage(text, sender_id="nlu-eval")))

    def time_single_parses(self, texts: Iterable[str], warmup: int = 10) -> tuple[list[float], list[dict]]:
        """Milliseconds of each single in-process parse (after `warmup` untimed ones) and the results."""
        texts = list(texts)
        for text in texts[:warmup]:
            self.parse_one(text)
        timings, results = [], []
        for text in texts:
            started = time.perf_counter()
            results.append(self.parse_one(text))
            timings.append((time.perf_counter() - started) * 1000)
        return timings, results

    def close(self) -> None:
        self.loop.close()


def to_prediction(data: dict) -> Prediction:
    """The served intent, the classifier's ranking without nlu_fallback, and the language entity."""
    intent = data.get("intent") or {}
    ranking = tuple((item["name"], float(item.get("confidence") or 0.0))
                    for item in data.get("intent_ranking") or [] if item.get("name") != NLU_FALLBACK)
    language = next((entity.get("value") for entity in data.get("entities") or []
                     if entity.get("entity") == LANGUAGE_ENTITY), None)
    return Prediction(intent.get("name"), float(intent.get("confidence") or 0.0), ranking, language)
