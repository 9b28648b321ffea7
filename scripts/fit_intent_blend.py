"""Fits the weights of bot.components.intent_blend by k-fold cross-validation on the training
data (needs .venv-rasa; `make fit-intent-blend`).

The intent examples of data/nlu are split into k folds, stratified by intent. For each fold, DIET
is trained with the project's own NLU pipeline (config.yml without the blend, the embedding expert
and the fallback classifier, DIET ranking every intent) on the other folds; the lexical model of
the blend, and the embedding expert (bot.components.embed_intents, when config.yml has it) are
fitted on the same examples; all predict the fold. The weights `diet_weight`, `lexical_weight` and
`embed_weight` minimise the log-loss of the blended out-of-fold probabilities (a convex problem in
the weights). Nothing from eval/ is read, so the held-out split stays a fair test.

With three folds it trains DIET three times: about 17 minutes on two idle cores. DIET's
out-of-fold predictions are cached in models/fit-intent-blend-cache, keyed by the data, the folds
and DIET's configuration, so a refit after changing only the other experts does not retrain it.
Writes eval/results/intent_blend.json; `--write` also puts the weights into config.yml.

    PYTHONPATH=. .venv-rasa/bin/python scripts/fit_intent_blend.py [--folds 3] [--seed 7] [--write]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

BLENDER = "bot.components.intent_blend.LexicalIntentBlender"
CONSENT_READER = "bot.components.consent_scope.ConsentScopeReader"
EMBEDDER = "bot.components.embed_intents.EmbeddingIntentExpert"
DIET = "DIETClassifier"
OUT = ROOT / "eval" / "results" / "intent_blend.json"
# DIET's out-of-fold probabilities, keyed by the data, the folds and DIET's configuration: refitting
# after a change to the other experts only does not retrain DIET three times.
CACHE = ROOT / "models" / "fit-intent-blend-cache"
WEIGHTS = ("diet_weight", "lexical_weight", "embed_weight")


# ---------------------------------------------------------------- folds and configuration

def stratified_folds(intents: Sequence[str], folds: int, seed: int) -> list[int]:
    """The fold of each example: every intent's examples shuffled and dealt round the folds."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for index, intent in enumerate(intents):
        by_intent[intent].append(index)
    rng = random.Random(seed)
    assignment = [0] * len(intents)
    for intent in sorted(by_intent):
        indices = by_intent[intent]
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            assignment[index] = position % folds
    return assignment


def nlu_only_config(config: dict[str, Any]) -> dict[str, Any]:
    """config.yml's NLU pipeline up to DIET's own prediction: without the blend, the rules that
    read consent after it and any fallback classifier, DIET ranking every intent; no policies."""
    pipeline = []
    for step in config["pipeline"]:
        name = step["name"]
        if name in (BLENDER, CONSENT_READER, EMBEDDER) or name.endswith("FallbackClassifier"):
            continue
        step = dict(step)
        if name == DIET:
            step["ranking_length"] = 0
        pipeline.append(step)
    return {key: value for key, value in config.items() if key != "policies"} | {"pipeline": pipeline}


def blender_config(config: dict[str, Any]) -> dict[str, Any]:
    from bot.components.intent_blend import LexicalIntentBlender

    steps = [step for step in config["pipeline"] if step["name"] == BLENDER]
    if not steps:
        raise SystemExit(f"fit-intent-blend: no {BLENDER} in the pipeline")
    return {**LexicalIntentBlender.get_default_config(), **steps[0]}


def embedder_config(config: dict[str, Any]) -> dict[str, Any] | None:
    """The embedding expert's step of config.yml with its defaults, or None when it is not in the
    pipeline (the blend then has two experts)."""
    steps = [step for step in config["pipeline"] if step["name"] == EMBEDDER]
    if not steps:
        return None
    from bot.components.embed_intents import EmbeddingIntentExpert

    return {**EmbeddingIntentExpert.get_default_config(), **steps[0]}


def write_weights(config_path: Path, weights: dict[str, float]) -> None:
    """Sets the blend's weights (diet_weight, lexical_weight, embed_weight) in its step of
    config.yml, comments kept."""
    text = config_path.read_text(encoding="utf-8")
    step = re.search(rf"^(\s*)- name: {re.escape(BLENDER)}\n((?:\1  .*\n|\s*#.*\n)*)", text, re.MULTILINE)
    if step is None:
        raise SystemExit(f"fit-intent-blend: no {BLENDER} step in {config_path}")
    indent = step.group(1) + "  "
    body = step.group(2)
    for key, value in weights.items():
        line = f"{indent}{key}: {value:.3f}\n"
        pattern = rf"^{re.escape(indent)}{key}:.*\n"
        body = re.sub(pattern, line, body, flags=re.MULTILINE) if re.search(pattern, body, re.MULTILINE) \
            else body + line
    config_path.write_text(text[:step.start(2)] + body + text[step.end(2):], encoding="utf-8")


# ---------------------------------------------------------------- the fit

def log_loss(experts: Sequence[np.ndarray], gold: np.ndarray, weights: Sequence[float]) -> float:
    from bot.components.intent_blend import blend_experts

    blended = blend_experts(experts, weights)
    return float(-np.mean(np.log(np.maximum(blended[np.arange(len(gold)), gold], 1e-12))))


def fit_weights(experts: Sequence[np.ndarray], gold: np.ndarray) -> tuple[float, ...]:
    """The weights (one per expert, each within [0, 5]) of least out-of-fold log-loss."""
    from scipy.optimize import minimize

    result = minimize(lambda w: log_loss(experts, gold, w), x0=np.full(len(experts), 0.5),
                      method="L-BFGS-B", bounds=[(0.0, 5.0)] * len(experts))
    return tuple(float(w) for w in result.x)


# ---------------------------------------------------------------- training and predicting a fold

def train_diet(train_yaml: Path, config: dict[str, Any], workdir: Path, name: str) -> Path:
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(workdir / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config_path), "--nlu",
               str(train_yaml), "--out", str(workdir), "--fixed-model-name", name]
    with (workdir / f"{name}.log").open("w") as log:
        subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return workdir / f"{name}.tar.gz"


def diet_probabilities(model: Path, texts: list[str], classes: list[str]) -> np.ndarray:
    from evaluation.parsing import Parser

    parser = Parser(model)
    try:
        parsed = parser.parse_batch(texts)
    finally:
        parser.close()
    index = {name: i for i, name in enumerate(classes)}
    probabilities = np.zeros((len(texts), len(classes)))
    for row, data in zip(probabilities, parsed):
        for item in data.get("intent_ranking") or []:
            if item["name"] in index:
                row[index[item["name"]]] = item["confidence"]
    return probabilities


def cache_key(train: list[Any], test: list[Any], config: dict[str, Any], extra: Any) -> str:
    """What DIET's out-of-fold predictions depend on: its training and test examples, the NLU
    configuration, the regexes, lookups and synonyms of the data."""
    import rasa

    digest = hashlib.sha256()
    for part in (train, test):
        digest.update(json.dumps([(m.get("text"), m.get("intent"), m.get("entities") or [])
                                  for m in part], sort_keys=True, default=str).encode())
    digest.update(json.dumps([config, extra, rasa.__version__], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def diet_fold(data: Any, train: list[Any], test: list[Any], config: dict[str, Any], classes: list[str],
              workdir: Path, name: str, cache: Path | None) -> np.ndarray:
    """DIET trained on `train` predicting `test` (from the cache when it holds this fold)."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    extra = [data.regex_features, data.lookup_tables, data.entity_synonyms]
    cached = cache / f"{cache_key(train, test, config, extra)}.npz" if cache else None
    if cached is not None and cached.exists():
        stored = np.load(cached, allow_pickle=False)
        if list(stored["classes"]) == classes:
            print(f"fit-intent-blend: {name}: DIET's predictions from {cached.name}", file=sys.stderr)
            return stored["probabilities"]
    train_yaml = workdir / "nlu.yml"
    train_yaml.write_text(TrainingData(
        training_examples=train, entity_synonyms=data.entity_synonyms,
        regex_features=data.regex_features, lookup_tables=data.lookup_tables).nlu_as_yaml(),
        encoding="utf-8")
    print(f"fit-intent-blend: {name}: training DIET on {len(train)} examples", file=sys.stderr, flush=True)
    model = train_diet(train_yaml, config, workdir, name)
    probabilities = diet_probabilities(model, [m.get("text") for m in test], classes)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, probabilities=probabilities, classes=np.array(classes))
    return probabilities


def accuracy(probabilities: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(probabilities.argmax(axis=1) == gold))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where DIET's out-of-fold predictions are kept between runs")
    parser.add_argument("--no-cache", action="store_true", help="always retrain DIET")
    parser.add_argument("--write", action="store_true", help="put the fitted weights into --config")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")

    from evaluation.parsing import quiet_logs
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.components.intent_blend import blend_experts, new_pipeline, normalise

    quiet_logs()
    started = time.perf_counter()
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    lexical_config = blender_config(config)
    embed_config = embedder_config(config)
    data = load_data(str(args.data))
    examples = [m for m in data.intent_examples if m.get("text") and m.get("intent")]
    intents = [m.get("intent") for m in examples]
    classes = sorted(set(intents))
    folds = stratified_folds(intents, args.folds, args.seed)
    embeddings = None
    if embed_config is not None:
        from bot.components.embed_intents import embed_texts, training_config

        print(f"fit-intent-blend: embedding {len(examples)} examples", file=sys.stderr, flush=True)
        embeddings = embed_texts([m.get("text") for m in examples], training_config(embed_config))
    # Without DIET in the pipeline (diet_weight 0: the blender ranks the intents itself) only the
    # lexical model and the embedding expert are fitted, and nothing is trained with rasa.
    with_diet = any(step["name"] == DIET for step in config["pipeline"])
    names = (["diet"] if with_diet else []) + ["lexical"] + (["embed"] if embed_config is not None else [])
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    gold_parts, per_fold = [], []
    with tempfile.TemporaryDirectory(prefix="fit-intent-blend-") as tmp:
        for fold in range(args.folds):
            workdir = Path(tmp) / f"fold{fold}"
            workdir.mkdir()
            train_index = [i for i, f in enumerate(folds) if f != fold]
            test_index = [i for i, f in enumerate(folds) if f == fold]
            train = [examples[i] for i in train_index]
            test = [examples[i] for i in test_index]
            predicted = {}
            if with_diet:
                predicted["diet"] = diet_fold(data, train, test, nlu_only_config(config), classes, workdir,
                                              f"fold{fold}", None if args.no_cache else args.cache)
            lexical = new_pipeline(lexical_config)
            lexical.fit([normalise(m.get("text")) for m in train], [m.get("intent") for m in train])
            if list(lexical.classes_) != classes:
                raise SystemExit("fit-intent-blend: a fold lacks an intent; use fewer folds")
            gold = np.array([classes.index(m.get("intent")) for m in test])
            predicted["lexical"] = lexical.predict_proba([normalise(m.get("text")) for m in test])
            if embeddings is not None:
                from bot.components.embed_intents import fit_expert

                expert = fit_expert(embeddings[train_index], [m.get("intent") for m in train], embed_config)
                predicted["embed"] = expert.probabilities_over(embeddings[test_index], classes)
            per_fold.append({"fold": fold, "train": len(train), "test": len(test)} |
                            {f"{name}_accuracy": accuracy(predicted[name], gold) for name in names})
            for name in names:
                parts[name].append(predicted[name])
            gold_parts.append(gold)
    experts = [np.vstack(parts[name]) for name in names]
    gold = np.concatenate(gold_parts)
    fitted = fit_weights(experts, gold)
    candidates = {name: tuple(float(n == name) for n in names) for name in names}
    candidates["even"] = tuple(1.0 / len(names) for _ in names)
    if embeddings is not None and with_diet:
        two = fit_weights(experts[:2], gold)
        candidates["diet+lexical"] = two + (0.0,)
    candidates["fitted"] = fitted
    scores = {name: {"weights": [round(w, 3) for w in weights], "log_loss": log_loss(experts, gold, weights),
                     "accuracy": accuracy(blend_experts(experts, weights), gold)}
              for name, weights in candidates.items()}
    weights = {f"{name}_weight": round(w, 3) for name, w in zip(names, fitted)}
    weights = {key: weights.get(key, 0.0) for key in WEIGHTS}
    result = {"folds": args.folds, "seed": args.seed, "examples": len(examples), "intents": len(classes),
              "experts": names, "per_fold": per_fold, "out_of_fold": scores, "weights": weights,
              "written_to_config": bool(args.write), "seconds": round(time.perf_counter() - started)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, score in scores.items():
        print(f"  {name:12s} out-of-fold log-loss {score['log_loss']:.4f}  accuracy {100 * score['accuracy']:.1f} %")
    print(f"fit-intent-blend: {', '.join(f'{k} {v:.3f}' for k, v in weights.items())} "
          f"({result['seconds']} s; {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out})")
    if args.write:
        write_weights(args.config, weights)
        print(f"fit-intent-blend: written to {args.config}; retrain with `make train`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
