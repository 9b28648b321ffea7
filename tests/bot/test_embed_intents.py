"""The sentence-embedding expert: its nearest-neighbour vote, training, persistence and loading."""
import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.model import InvalidModelError
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components import embed_intents
from bot.components.embed_intents import EMBED_DISTRIBUTION_KEY, EmbeddingIntentExpert, fit_expert

from tests.bot.test_intent_blend import EXAMPLES  # the same small three-language set


def context():
    return ExecutionContext(GraphSchema({}), "test")


def config(**overrides):
    return {**EmbeddingIntentExpert.get_default_config(), **overrides}


def training_data():
    return TrainingData([Message(data={TEXT: text, INTENT: intent})
                         for intent, texts in EXAMPLES.items() for text in texts])


def folder(tmp_path, name):
    (tmp_path / name).mkdir()
    return tmp_path / name


def trained(tmp_path, **overrides):
    storage, resource = LocalModelStorage(tmp_path), Resource("embedding_intents")
    component = EmbeddingIntentExpert.create(config(**overrides), storage, resource, context())
    component.train(training_data())
    return component, storage, resource


def opinion(component, text):
    message = Message(data={TEXT: text})
    component.process([message])
    return message.get(EMBED_DISTRIBUTION_KEY)


def test_the_regression_is_sklearns_softmax():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(60, 8))
    intents = [("a", "b", "c")[i % 3] for i in range(60)]
    embeddings[np.arange(60), np.arange(60) % 3] += 2.0
    expert = fit_expert(embeddings, intents, config(C=10.0))
    reference = LogisticRegression(C=10.0, max_iter=3000).fit(embeddings, intents)
    queries = rng.normal(size=(5, 8))
    assert expert.classes == ["a", "b", "c"]
    assert expert.probabilities(queries) == pytest.approx(reference.predict_proba(queries), abs=1e-9)
    # Columns in another order, and an intent it never saw.
    over = expert.probabilities_over(queries, ["c", "x", "a", "b"])
    assert over[:, [2, 3, 0]] == pytest.approx(expert.probabilities(queries)) and not over[:, 1].any()
    # Two intents: sklearn's one-logit form, as two columns.
    two = [("a", "b")[i % 2] for i in range(60)]
    binary = fit_expert(embeddings, two, config(C=10.0))
    reference = LogisticRegression(C=10.0, max_iter=3000).fit(embeddings, two)
    assert binary.probabilities(queries) == pytest.approx(reference.predict_proba(queries), abs=1e-9)


def test_new_phrasings_in_three_languages_go_to_their_intent(tmp_path):
    component, _, _ = trained(tmp_path)
    for text, intent in (("what items are in my basket", "view_cart"),
                         ("bei ya delivery hadi nakuru ni ngapi", "delivery_fees"),
                         ("good morning", "greet")):
        distribution = opinion(component, text)
        assert set(distribution) == set(EXAMPLES)
        assert sum(distribution.values()) == pytest.approx(1.0)
        assert max(distribution, key=distribution.get) == intent, (text, distribution)


def test_persisted_model_loads_and_gives_the_same_distribution(tmp_path):
    component, storage, resource = trained(tmp_path)
    loaded = EmbeddingIntentExpert.load(config(), storage, resource, context())
    for text in ("delivery fee to nakuru", "niaje boss", "🛒🛒", "ñáé " * 300):
        assert opinion(loaded, text) == pytest.approx(opinion(component, text), abs=1e-9)
    with storage.read_from(resource) as directory:
        assert (directory / embed_intents.MODEL_FILE).stat().st_size < 100_000


def test_c_comes_from_the_config(tmp_path):
    sharp, _, _ = trained(folder(tmp_path, "sharp"), C=100.0)
    flat, _, _ = trained(folder(tmp_path, "flat"), C=0.01)
    assert max(opinion(sharp, "show me my cart please").values()) > \
        max(opinion(flat, "show me my cart please").values())


def test_an_unreadable_file_is_refused_not_skipped(tmp_path):
    _, storage, resource = trained(tmp_path)
    with storage.write_to(resource) as directory:
        (directory / embed_intents.MODEL_FILE).write_bytes(b"not an npz file")
    with pytest.raises(InvalidModelError, match="cannot be read"):
        EmbeddingIntentExpert.load(config(), storage, resource, context())


def test_inconsistent_arrays_are_refused(tmp_path):
    _, storage, resource = trained(tmp_path)
    with storage.write_to(resource) as directory:
        np.savez(directory / embed_intents.MODEL_FILE, weights=np.zeros((4, 3)), intercept=np.zeros(3),
                 classes=np.array(["a", "b"]))
    with pytest.raises(InvalidModelError, match="do not match"):
        EmbeddingIntentExpert.load(config(), storage, resource, context())


def test_untrained_or_one_intent_says_nothing(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("embedding_intents")
    component = EmbeddingIntentExpert.create(config(), storage, resource, context())
    component.train(TrainingData([Message(data={TEXT: "hi", INTENT: "greet"})]))
    loaded = EmbeddingIntentExpert.load(config(), storage, resource, context())
    assert opinion(loaded, "hi") is None


def test_messages_without_text_are_left_alone(tmp_path):
    component, _, _ = trained(tmp_path)
    empty, text = Message(data={TEXT: ""}), Message(data={TEXT: "hello"})
    component.process([empty, text])
    assert empty.get(EMBED_DISTRIBUTION_KEY) is None and text.get(EMBED_DISTRIBUTION_KEY)


@pytest.mark.parametrize("overrides", [{"C": 0.0}, {"threads": 0}])
def test_bad_settings_are_refused(tmp_path, overrides):
    with pytest.raises(ValueError):
        EmbeddingIntentExpert(config(**overrides), LocalModelStorage(tmp_path), Resource("x"))


def test_the_engine_runs_on_the_configured_threads_even_after_scikit_learn():
    # scikit-learn (imported by rasa before any component) loads a libgomp of the same name that
    # the engine then shares; its thread count must still be the configured one.
    import sklearn.linear_model  # noqa: F401

    embed_intents.embed_texts(["habari"], config(threads=1))
    model, _ = embed_intents.encoder("original", 1)
    assert model._lib.omp_get_max_threads() == 1
