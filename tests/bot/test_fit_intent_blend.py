"""scripts/fit_intent_blend.py: folds, the NLU-only configuration, the weight fit and config writing."""
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import fit_intent_blend as fit  # noqa: E402


def test_folds_spread_every_intent_evenly_and_repeat_with_the_seed():
    intents = ["greet"] * 10 + ["deny"] * 7 + ["view_cart"] * 3
    folds = fit.stratified_folds(intents, 3, seed=7)
    for intent in set(intents):
        counts = Counter(f for i, f in zip(intents, folds) if i == intent)
        assert max(counts.values()) - min(counts.get(k, 0) for k in range(3)) <= 1
    assert folds == fit.stratified_folds(intents, 3, seed=7)
    assert folds != fit.stratified_folds(intents, 3, seed=8)


def test_nlu_only_config_stops_at_diet():
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    nlu = fit.nlu_only_config(config)
    names = [step["name"] for step in nlu["pipeline"]]
    assert fit.BLENDER not in names and fit.EMBEDDER not in names and not any(n.endswith("FallbackClassifier") for n in names)
    assert "policies" not in nlu
    assert next(s for s in nlu["pipeline"] if s["name"] == fit.DIET)["ranking_length"] == 0
    # The rest of the pipeline is the project's own.
    kept = [s for s in config["pipeline"] if s["name"] in names]
    assert [s["name"] for s in kept] == names


def synthetic(rng, n=600, classes=4, informative="lexical"):
    gold = rng.integers(0, classes, n)
    good = np.full((n, classes), 0.1 / (classes - 1))
    right = rng.random(n) < 0.8
    good[np.arange(n), np.where(right, gold, (gold + 1) % classes)] = 0.9
    noise = rng.dirichlet(np.ones(classes), n)
    return (noise, good, gold) if informative == "lexical" else (good, noise, gold)


def test_the_fit_weights_the_informative_expert():
    rng = np.random.default_rng(0)
    diet, lexical, gold = synthetic(rng, informative="lexical")
    diet_weight, lexical_weight = fit.fit_weights([diet, lexical], gold)
    assert lexical_weight > 0.5 > diet_weight
    assert fit.log_loss([diet, lexical], gold, (diet_weight, lexical_weight)) < \
        fit.log_loss([diet, lexical], gold, (0.5, 0.5))
    diet, lexical, gold = synthetic(rng, informative="diet")
    diet_weight, lexical_weight = fit.fit_weights([diet, lexical], gold)
    assert diet_weight > 0.5 > lexical_weight


def informed(rng, gold, classes=4, right=0.8):
    """An expert that puts 0.9 on the gold intent `right` of the time (else on another), on its own
    random draws."""
    p = np.full((len(gold), classes), 0.1 / (classes - 1))
    hit = rng.random(len(gold)) < right
    p[np.arange(len(gold)), np.where(hit, gold, (gold + rng.integers(1, classes, len(gold))) % classes)] = 0.9
    return p


def test_a_third_expert_is_weighted_by_what_it_adds():
    rng = np.random.default_rng(1)
    noise, lexical, gold = synthetic(rng, informative="lexical")
    # An independent second informative expert earns a weight; pure noise earns (almost) none.
    embed = informed(np.random.default_rng(2), gold)
    weights = fit.fit_weights([noise, lexical, embed], gold)
    assert weights[2] > 0.5 and weights[0] < 0.2
    assert fit.log_loss([noise, lexical, embed], gold, weights) < \
        fit.log_loss([noise, lexical, embed], gold, (weights[0], weights[1], 0.0))
    weights = fit.fit_weights([lexical, embed, noise], gold)
    assert weights[2] < 0.2 < min(weights[:2])


def test_weights_are_written_into_the_config_keeping_everything_else(tmp_path):
    config = tmp_path / "config.yml"
    original = (ROOT / "config.yml").read_text()
    config.write_text(original)
    fit.write_weights(config, {"diet_weight": 0.123, "lexical_weight": 1.4567})
    written = config.read_text()
    steps = yaml.safe_load(written)["pipeline"]
    step = next(s for s in steps if s["name"] == fit.BLENDER)
    assert (step["diet_weight"], step["lexical_weight"]) == (0.123, 1.457)
    changed = [(a, b) for a, b in zip(original.splitlines(), written.splitlines()) if a != b]
    assert len(changed) <= 2 and all("weight:" in b for _, b in changed)
    assert len(original.splitlines()) == len(written.splitlines())


def test_missing_weights_are_added(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(f"pipeline:\n  - name: DIETClassifier\n  - name: {fit.BLENDER}\n    C: 30\n"
                      "  - name: EntitySynonymMapper\n")
    fit.write_weights(config, {"diet_weight": 0.2, "lexical_weight": 1.0, "embed_weight": 0.4})
    steps = yaml.safe_load(config.read_text())["pipeline"]
    assert steps[1] == {"name": fit.BLENDER, "C": 30, "diet_weight": 0.2, "lexical_weight": 1.0,
                        "embed_weight": 0.4}
    assert steps[2] == {"name": "EntitySynonymMapper"}


def test_a_config_without_the_blend_is_refused(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: DIETClassifier\n")
    with pytest.raises(SystemExit):
        fit.write_weights(config, {"diet_weight": 0.2, "lexical_weight": 1.0})


def test_without_diet_only_the_lexical_model_and_the_embedding_expert_are_fitted(tmp_path, monkeypatch):
    """A pipeline without DIET: no rasa training, DIET's weight is 0, the others are fitted."""
    import evaluation.parsing

    # main() quiets the process's logging for a command line; later tests read INFO lines.
    monkeypatch.setattr(evaluation.parsing, "quiet_logs", lambda: None)
    data = tmp_path / "nlu.yml"
    from tests.bot.test_intent_blend import EXAMPLES as examples

    data.write_text(yaml.safe_dump({"version": "3.1", "nlu": [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
        for intent, texts in examples.items()]}, sort_keys=False))
    config = tmp_path / "config.yml"
    config.write_text(f"pipeline:\n  - name: WhitespaceTokenizer\n  - name: {fit.EMBEDDER}\n"
                      f"  - name: {fit.BLENDER}\n    diet_weight: 0.0\n")
    out = tmp_path / "blend.json"
    assert fit.main(["--config", str(config), "--data", str(data), "--out", str(out), "--folds", "2",
                     "--cache", str(tmp_path / "cache"), "--write"]) == 0
    result = __import__("json").loads(out.read_text())
    assert result["experts"] == ["lexical", "embed"]
    assert result["weights"]["diet_weight"] == 0.0
    assert result["weights"]["lexical_weight"] + result["weights"]["embed_weight"] > 0
    assert not (tmp_path / "cache").exists()
    step = next(s for s in yaml.safe_load(config.read_text())["pipeline"] if s["name"] == fit.BLENDER)
    assert step["diet_weight"] == 0.0 and step["embed_weight"] == result["weights"]["embed_weight"]
