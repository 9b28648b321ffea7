"""Fits the two weights of bot.components.intent_blend by k-fold cross-validation on the training
data (needs .venv-rasa; `make fit-intent-blend`).

The intent examples of data/nlu are split into k folds, stratified by intent. For each fold, DIET
is trained with the project's own NLU pipeline (config.yml without the blend and the fallback
classifier, DIET ranking every intent) on the other folds, and the lexical model of the blend is
fitted on the same examples; both then predict the fold. The weights `diet_weight` and
`lexical_weight` minimise the log-loss of the blended out-of-fold probabilities (a convex problem
in the two weights). Nothing from eval/ is read, so the held-out split stays a fair test.

With three folds it trains DIET three times: about 17 minutes on two idle cores. Writes
eval/results/intent_blend.json; `--write` also puts the weights into config.yml.

    PYTHONPATH=. .venv-rasa/bin/python scripts/fit_intent_blend.py [--folds 3] [--seed 7] [--write]
"""
from __future__ import annotations

import argparse
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
DIET = "DIETClassifier"
OUT = ROOT / "eval" / "results" / "intent_blend.json"


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
        if name in (BLENDER, CONSENT_READER) or name.endswith("FallbackClassifier"):
            continue
        step = dict(step)
        if name == DIET:
            step["ranking_length"] = 0
        pipeline.append(step)
    if not any(step["name"] == DIET for step in pipeline):
        raise SystemExit(f"fit-intent-blend: no {DIET} in the pipeline")
    return {key: value for key, value in config.items() if key != "policies"} | {"pipeline": pipeline}


def blender_config(config: dict[str, Any]) -> dict[str, Any]:
    from bot.components.intent_blend import LexicalIntentBlender

    steps = [step for step in config["pipeline"] if step["name"] == BLENDER]
    if not steps:
        raise SystemExit(f"fit-intent-blend: no {BLENDER} in the pipeline")
    return {**LexicalIntentBlender.get_default_config(), **steps[0]}


def write_weights(config_path: Path, diet_weight: float, lexical_weight: float) -> None:
    """Sets diet_weight and lexical_weight of the blend's step in config.yml, comments kept."""
    text = config_path.read_text(encoding="utf-8")
    step = re.search(rf"^(\s*)- name: {re.escape(BLENDER)}\n((?:\1  .*\n|\s*#.*\n)*)", text, re.MULTILINE)
    if step is None:
        raise SystemExit(f"fit-intent-blend: no {BLENDER} step in {config_path}")
    indent = step.group(1) + "  "
    body = step.group(2)
    for key, value in (("diet_weight", diet_weight), ("lexical_weight", lexical_weight)):
        line = f"{indent}{key}: {value:.3f}\n"
        pattern = rf"^{re.escape(indent)}{key}:.*\n"
        body = re.sub(pattern, line, body, flags=re.MULTILINE) if re.search(pattern, body, re.MULTILINE) \
            else body + line
    config_path.write_text(text[:step.start(2)] + body + text[step.end(2):], encoding="utf-8")


# ---------------------------------------------------------------- the fit

def log_loss(diet: np.ndarray, lexical: np.ndarray, gold: np.ndarray, diet_weight: float,
             lexical_weight: float) -> float:
    from bot.components.intent_blend import blend

    blended = blend(diet, lexical, diet_weight, lexical_weight)
    return float(-np.mean(np.log(np.maximum(blended[np.arange(len(gold)), gold], 1e-12))))


def fit_weights(diet: np.ndarray, lexical: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """The (diet_weight, lexical_weight) of least out-of-fold log-loss, each within [0, 5]."""
    from scipy.optimize import minimize

    result = minimize(lambda w: log_loss(diet, lexical, gold, w[0], w[1]), x0=np.array([0.5, 0.5]),
                      method="L-BFGS-B", bounds=[(0.0, 5.0), (0.0, 5.0)])
    return float(result.x[0]), float(result.x[1])


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


def accuracy(probabilities: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(probabilities.argmax(axis=1) == gold))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--write", action="store_true", help="put the fitted weights into --config")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")

    from evaluation.parsing import quiet_logs
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.components.intent_blend import new_pipeline, normalise

    quiet_logs()
    started = time.perf_counter()
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    lexical_config = blender_config(config)
    data = load_data(str(args.data))
    examples = [m for m in data.intent_examples if m.get("text") and m.get("intent")]
    intents = [m.get("intent") for m in examples]
    classes = sorted(set(intents))
    folds = stratified_folds(intents, args.folds, args.seed)
    diet_parts, lexical_parts, gold_parts, per_fold = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="fit-intent-blend-") as tmp:
        for fold in range(args.folds):
            workdir = Path(tmp) / f"fold{fold}"
            workdir.mkdir()
            train = [m for m, f in zip(examples, folds) if f != fold]
            test = [m for m, f in zip(examples, folds) if f == fold]
            train_yaml = workdir / "nlu.yml"
            train_yaml.write_text(TrainingData(
                training_examples=train, entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features, lookup_tables=data.lookup_tables).nlu_as_yaml(),
                encoding="utf-8")
            print(f"fit-intent-blend: fold {fold + 1}/{args.folds}: training DIET on {len(train)} "
                  f"examples", file=sys.stderr, flush=True)
            model = train_diet(train_yaml, nlu_only_config(config), workdir, f"fold{fold}")
            lexical = new_pipeline(lexical_config)
            lexical.fit([normalise(m.get("text")) for m in train], [m.get("intent") for m in train])
            if list(lexical.classes_) != classes:
                raise SystemExit("fit-intent-blend: a fold lacks an intent; use fewer folds")
            gold = np.array([classes.index(m.get("intent")) for m in test])
            diet = diet_probabilities(model, [m.get("text") for m in test], classes)
            lexical_p = lexical.predict_proba([normalise(m.get("text")) for m in test])
            per_fold.append({"fold": fold, "train": len(train), "test": len(test),
                             "diet_accuracy": accuracy(diet, gold), "lexical_accuracy": accuracy(lexical_p, gold)})
            diet_parts.append(diet)
            lexical_parts.append(lexical_p)
            gold_parts.append(gold)
    diet, lexical_p, gold = np.vstack(diet_parts), np.vstack(lexical_parts), np.concatenate(gold_parts)
    diet_weight, lexical_weight = fit_weights(diet, lexical_p, gold)
    from bot.components.intent_blend import blend

    candidates = {"diet": (1.0, 0.0), "lexical": (0.0, 1.0), "even": (0.5, 0.5),
                  "fitted": (diet_weight, lexical_weight)}
    scores = {name: {"log_loss": log_loss(diet, lexical_p, gold, *w),
                     "accuracy": accuracy(blend(diet, lexical_p, *w), gold)}
              for name, w in candidates.items()}
    result = {"folds": args.folds, "seed": args.seed, "examples": len(examples), "intents": len(classes),
              "per_fold": per_fold, "out_of_fold": scores,
              "weights": {"diet_weight": round(diet_weight, 3), "lexical_weight": round(lexical_weight, 3)},
              "written_to_config": bool(args.write), "seconds": round(time.perf_counter() - started)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, score in scores.items():
        print(f"  {name:8s} out-of-fold log-loss {score['log_loss']:.4f}  accuracy {100 * score['accuracy']:.1f} %")
    print(f"fit-intent-blend: diet_weight {diet_weight:.3f}, lexical_weight {lexical_weight:.3f} "
          f"({result['seconds']} s; {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out})")
    if args.write:
        write_weights(args.config, diet_weight, lexical_weight)
        print(f"fit-intent-blend: written to {args.config}; retrain with `make train`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
