"""The lexical second opinion and its blend with DIET's ranking."""
from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.model import InvalidModelError
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components import intent_blend
from bot.components.intent_blend import LexicalIntentBlender, blend

ROOT = Path(__file__).resolve().parents[2]

EXAMPLES = {
    "view_cart": ["show me my cart", "what is in my cart", "nionyeshe kikapu changu",
                  "kikapu changu kina nini", "niko na nini kwa cart", "cart yangu ina nini"],
    "delivery_fees": ["how much is delivery", "delivery fee to kisumu", "usafirishaji ni bei gani",
                      "gharama ya kuleta mzigo", "delivery ni ngapi", "mnacharge delivery how much"],
    "greet": ["hello", "hi there", "habari yako", "mambo", "niaje", "sasa boss"],
}


def storage_and_resource(tmp_path):
    return LocalModelStorage(tmp_path), Resource("lexical_blend")


def context():
    return ExecutionContext(GraphSchema({}), "test")


def trained(tmp_path, **config):
    storage, resource = storage_and_resource(tmp_path)
    component = LexicalIntentBlender.create({**LexicalIntentBlender.get_default_config(), **config},
                                            storage, resource, context())
    data = TrainingData([Message(data={TEXT: text, INTENT: intent})
                         for intent, texts in EXAMPLES.items() for text in texts])
    component.train(data)
    return component, storage, resource


def diet_says(text, ranking):
    ranking = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={TEXT: text, INTENT: dict(ranking[0]), INTENT_RANKING_KEY: ranking})


def test_blend_is_a_weighted_product():
    diet, lexical = np.array([0.9, 0.1]), np.array([0.2, 0.8])
    expected = np.sqrt(diet * lexical) / np.sqrt(diet * lexical).sum()
    assert blend(diet, lexical, 0.5, 0.5) == pytest.approx(expected)
    assert blend(diet, lexical, 1.0, 0.0) == pytest.approx(diet)
    assert blend(diet, lexical, 0.0, 1.0) == pytest.approx(lexical)
    sharper = diet ** 0.2 * lexical ** 1.1
    assert blend(diet, lexical, 0.2, 1.1) == pytest.approx(sharper / sharper.sum())
    # A batch is blended row by row.
    batch = blend(np.vstack([diet, lexical]), np.vstack([lexical, diet]), 0.5, 0.5)
    assert batch[0] == pytest.approx(expected) and batch[1] == pytest.approx(expected)
    # An intent one expert rules out keeps the floor, not minus infinity.
    mixed = blend(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.5, 0.5)
    assert np.isfinite(mixed).all() and mixed.sum() == pytest.approx(1.0)


def test_the_lexical_model_settles_what_diet_is_unsure_of(tmp_path):
    component, _, _ = trained(tmp_path)
    message = diet_says("kikapu changu kina nini", [("delivery_fees", 0.5), ("view_cart", 0.45), ("greet", 0.05)])
    component.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert message.get(INTENT)["name"] == "view_cart"
    assert ranking[0] == message.get(INTENT)
    assert [item["name"] for item in ranking][:1] == ["view_cart"]
    assert sum(item["confidence"] for item in ranking) == pytest.approx(1.0)
    assert ranking == sorted(ranking, key=lambda item: -item["confidence"])


def test_a_confident_diet_is_tempered_when_the_words_disagree(tmp_path):
    component, _, _ = trained(tmp_path)
    message = diet_says("delivery ni ngapi", [("greet", 0.95), ("delivery_fees", 0.04), ("view_cart", 0.01)])
    component.process([message])
    assert message.get(INTENT)["confidence"] < 0.95


def test_diet_alone_passes_through(tmp_path):
    component, _, _ = trained(tmp_path, diet_weight=1.0, lexical_weight=0.0)
    message = diet_says("mambo", [("view_cart", 0.7), ("greet", 0.2), ("delivery_fees", 0.1)])
    component.process([message])
    assert message.get(INTENT)["name"] == "view_cart"
    assert message.get(INTENT)["confidence"] == pytest.approx(0.7)


def test_without_diet_the_blender_ranks_every_message_itself(tmp_path):
    """diet_weight 0: a pipeline without DIET's intents; the lexical model (and the embedding
    expert, when weighted) rank each message, whether or not something ranked it before."""
    component, _, _ = trained(tmp_path, diet_weight=0.0, lexical_weight=1.0)
    bare = Message(data={TEXT: "kikapu changu kina nini"})
    ranked = diet_says("delivery ni ngapi", [("greet", 0.99), ("delivery_fees", 0.005), ("view_cart", 0.005)])
    empty = Message(data={TEXT: ""})
    component.process([bare, ranked, empty])
    assert bare.get(INTENT)["name"] == "view_cart"
    assert sum(item["confidence"] for item in bare.get(INTENT_RANKING_KEY)) == pytest.approx(1.0)
    # DIET's opinion, had anything given one, weighs nothing.
    assert ranked.get(INTENT)["name"] == "delivery_fees"
    assert empty.get(INTENT) is None


def test_ranking_length_and_messages_without_a_ranking(tmp_path):
    component, _, _ = trained(tmp_path, ranking_length=2)
    ranked = diet_says("hello", [("greet", 0.8), ("view_cart", 0.1), ("delivery_fees", 0.1)])
    bare = Message(data={TEXT: "hello"})
    empty = Message(data={TEXT: "", INTENT_RANKING_KEY: []})
    component.process([ranked, bare, empty])
    assert len(ranked.get(INTENT_RANKING_KEY)) == 2
    assert bare.get(INTENT) is None and empty.get(INTENT) is None


def test_unicode_emoji_and_long_messages(tmp_path):
    component, _, _ = trained(tmp_path)
    for text in ("🛒🛒 cart yangu?", "ñáéíóú " * 500, "x" * 5000):
        message = diet_says(text, [("view_cart", 0.6), ("greet", 0.3), ("delivery_fees", 0.1)])
        component.process([message])
        assert message.get(INTENT)["name"] in EXAMPLES


def test_persisted_model_loads_and_predicts_the_same(tmp_path):
    component, storage, resource = trained(tmp_path)
    loaded = LexicalIntentBlender.load(LexicalIntentBlender.get_default_config(), storage, resource, context())
    first = diet_says("delivery fee to nakuru", [("delivery_fees", 0.6), ("view_cart", 0.3), ("greet", 0.1)])
    second = diet_says("delivery fee to nakuru", [("delivery_fees", 0.6), ("view_cart", 0.3), ("greet", 0.1)])
    component.process([first])
    loaded.process([second])
    assert first.get(INTENT_RANKING_KEY) == second.get(INTENT_RANKING_KEY)


def test_a_file_with_unexpected_types_is_refused(tmp_path, monkeypatch):
    _, storage, resource = trained(tmp_path)
    monkeypatch.setattr(intent_blend, "TRUSTED_TYPES", frozenset())
    with pytest.raises(InvalidModelError, match="unexpected types"):
        LexicalIntentBlender.load(LexicalIntentBlender.get_default_config(), storage, resource, context())


def test_an_unreadable_file_is_refused_not_skipped(tmp_path):
    _, storage, resource = trained(tmp_path)
    with storage.write_to(resource) as directory:
        (directory / intent_blend.MODEL_FILE).write_bytes(b"not a skops file")
    with pytest.raises(InvalidModelError, match="cannot be read"):
        LexicalIntentBlender.load(LexicalIntentBlender.get_default_config(), storage, resource, context())


def test_too_few_intents_leaves_diet_alone(tmp_path):
    storage, resource = storage_and_resource(tmp_path)
    component = LexicalIntentBlender.create(LexicalIntentBlender.get_default_config(), storage, resource, context())
    component.train(TrainingData([Message(data={TEXT: "hi", INTENT: "greet"})]))
    loaded = LexicalIntentBlender.load(LexicalIntentBlender.get_default_config(), storage, resource, context())
    message = diet_says("hi", [("greet", 0.6), ("deny", 0.4)])
    loaded.process([message])
    assert message.get(INTENT) == {"name": "greet", "confidence": 0.6}


@pytest.mark.parametrize("weights", [(-0.1, 1.0), (0.0, 0.0)])
def test_bad_weights_are_refused(tmp_path, weights):
    storage, resource = storage_and_resource(tmp_path)
    config = {**LexicalIntentBlender.get_default_config(), "diet_weight": weights[0], "lexical_weight": weights[1]}
    with pytest.raises(ValueError, match="weight"):
        LexicalIntentBlender(config, storage, resource)


def test_the_pipeline_gives_the_blend_every_intent_of_diet():
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    names = [step["name"] for step in pipeline]
    diet = names.index("DIETClassifier")
    blender = names.index("bot.components.intent_blend.LexicalIntentBlender")
    fallback = names.index("bot.components.action_guard.ActionAwareFallbackClassifier")
    assert diet < blender < fallback
    assert pipeline[diet]["ranking_length"] == 0
    # The embedding expert, when weighted, gives its opinion before the blend reads it.
    step = next(s for s in pipeline if s["name"] == "bot.components.intent_blend.LexicalIntentBlender")
    if float(step.get("embed_weight", 0.0)) > 0.0:
        assert names.index("bot.components.embed_intents.EmbeddingIntentExpert") < blender


def test_the_fast_probabilities_are_the_pipelines(tmp_path):
    component, storage, resource = trained(tmp_path)
    loaded = LexicalIntentBlender.load(LexicalIntentBlender.get_default_config(), storage, resource, context())
    texts = ["kikapu changu", "delivery to kisumu ni ngapi", "mambo boss", "🛒", ""]
    expected = loaded._pipeline.predict_proba(texts)
    assert loaded._weights is not None
    assert loaded.probabilities(texts) == pytest.approx(expected, abs=1e-12)


def test_two_intents_use_the_pipeline(tmp_path):
    storage, resource = storage_and_resource(tmp_path)
    component = LexicalIntentBlender.create(LexicalIntentBlender.get_default_config(), storage, resource, context())
    component.train(TrainingData([Message(data={TEXT: text, INTENT: intent})
                                  for intent in ("greet", "view_cart") for text in EXAMPLES[intent]]))
    message = diet_says("kikapu changu kina nini", [("greet", 0.5), ("view_cart", 0.5)])
    component.process([message])
    assert message.get(INTENT)["name"] == "view_cart"


# ---------------------------------------------------------------- the embedding expert's weight

def folder(tmp_path, name):
    (tmp_path / name).mkdir()
    return tmp_path / name


def with_embedding(message, opinion):
    message.set(intent_blend.EMBED_DISTRIBUTION_KEY, opinion)
    return message


def test_the_key_is_the_embedding_experts():
    from bot.components import embed_intents

    assert intent_blend.EMBED_DISTRIBUTION_KEY == embed_intents.EMBED_DISTRIBUTION_KEY


def test_blend_of_three_experts_is_the_weighted_product():
    diet, lexical, embed = np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.1, 0.8])
    product = diet ** 0.3 * lexical ** 1.0 * embed ** 0.7
    assert blend(diet, lexical, 0.3, 1.0, embed, 0.7) == pytest.approx(product / product.sum())
    assert blend(diet, lexical, 0.3, 1.0, embed, 0.0) == pytest.approx(blend(diet, lexical, 0.3, 1.0))


def test_an_embedding_weight_of_zero_is_the_old_blend(tmp_path):
    ranking = [("delivery_fees", 0.5), ("view_cart", 0.45), ("greet", 0.05)]
    opinion = {"greet": 0.98, "view_cart": 0.01, "delivery_fees": 0.01}
    old, _, _ = trained(folder(tmp_path, "old"), diet_weight=0.2, lexical_weight=1.0)
    new, _, _ = trained(folder(tmp_path, "new"), diet_weight=0.2, lexical_weight=1.0, embed_weight=0.0)
    plain = diet_says("kikapu changu kina nini", ranking)
    voted = with_embedding(diet_says("kikapu changu kina nini", ranking), opinion)
    old.process([plain])
    new.process([voted])
    assert voted.get(INTENT_RANKING_KEY) == plain.get(INTENT_RANKING_KEY)
    assert voted.get(INTENT) == plain.get(INTENT)
    # Weighted, the same opinion moves the ranking: the comparison above can fail.
    weighted, _, _ = trained(folder(tmp_path, "weighted"), diet_weight=0.2, lexical_weight=1.0, embed_weight=3.0)
    moved = with_embedding(diet_says("kikapu changu kina nini", ranking), opinion)
    weighted.process([moved])
    assert moved.get(INTENT)["name"] == "greet"


def test_a_weighted_embedding_opinion_is_multiplied_in(tmp_path):
    component, _, _ = trained(tmp_path, diet_weight=0.5, lexical_weight=0.5, embed_weight=1.0)
    reference, _, _ = trained(folder(tmp_path, "reference"), diet_weight=0.5, lexical_weight=0.5)
    ranking = [("delivery_fees", 0.6), ("view_cart", 0.3), ("greet", 0.1)]
    opinion = {"greet": 0.2, "view_cart": 0.5, "delivery_fees": 0.3}
    two = diet_says("delivery fee to nakuru", ranking)
    three = with_embedding(diet_says("delivery fee to nakuru", ranking), opinion)
    reference.process([two])
    component.process([three])
    before = {item["name"]: item["confidence"] for item in two.get(INTENT_RANKING_KEY)}
    after = {item["name"]: item["confidence"] for item in three.get(INTENT_RANKING_KEY)}
    expected = {name: before[name] * opinion[name] for name in before}
    total = sum(expected.values())
    assert after == pytest.approx({name: value / total for name, value in expected.items()})
    # A message the embedding expert said nothing about gets the two-expert blend.
    silent = diet_says("delivery fee to nakuru", ranking)
    component.process([silent])
    assert silent.get(INTENT_RANKING_KEY) == two.get(INTENT_RANKING_KEY)


def test_a_negative_embedding_weight_is_refused(tmp_path):
    storage, resource = storage_and_resource(tmp_path)
    config = {**LexicalIntentBlender.get_default_config(), "embed_weight": -0.5}
    with pytest.raises(ValueError, match="weight"):
        LexicalIntentBlender(config, storage, resource)
